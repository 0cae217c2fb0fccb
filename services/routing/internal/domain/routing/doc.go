// Package routing holds routing's domain rules in plain Go (issue #6): groups, agents and their validation,
// the ordered routing rules that send a ticket to a group, the strategies that pick an agent in the group,
// the L1-complaint bypass, the order of a group's queue, and the defaults seeded on first start. It does no
// I/O: the store loads and saves these values, the app layer decides when to call them.
//
// Ticket attributes arrive as lower snake codes matching intake's names (type "complaint", level "l1",
// urgency "critical", channel "web_chat"), i.e. the proto enum names without their prefix.
package routing
