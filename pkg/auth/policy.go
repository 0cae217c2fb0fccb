package auth

import (
	"maps"
	"slices"
)

// Permission is what an RPC needs, named <resource>.<action>. Roles grant permissions; methods need them.
type Permission string

// The suite's permissions. A method needs exactly one; a role grants a set.
const (
	// Tickets.
	PermTicketsSubmit       Permission = "tickets.submit"           // channel adapters create tickets
	PermTicketsGet          Permission = "tickets.get"              // read one ticket and its timeline
	PermTicketsList         Permission = "tickets.list"             // list tickets (filtered to the caller's scope)
	PermTicketsClassify     Permission = "tickets.classify"         // change type, subcategory, urgency, level
	PermTicketsAssign       Permission = "tickets.assign"           // assign to a group or an agent
	PermTicketsWork         Permission = "tickets.work"             // start work, ask the customer, reply, add notes
	PermTicketsCustomerMsg  Permission = "tickets.customer_message" // adapters append what the customer said
	PermTicketsEscalate     Permission = "tickets.escalate"         // raise the escalation level
	PermTicketsResolve      Permission = "tickets.resolve"          // resolve, close and reopen
	PermTicketsSatisfaction Permission = "tickets.satisfaction"     // record the customer's rating
	PermTicketsArchive      Permission = "tickets.archive"          // archive a complete, closed ticket
	// Configuration.
	PermTaxonomyRead  Permission = "taxonomy.read"  // subcategories and classification rules, rule tests
	PermTaxonomyAdmin Permission = "taxonomy.admin" // change subcategories and classification rules
	// Customers. Reads return masked personal data; reveal and export return it unmasked (audited).
	PermCustomersRead    Permission = "customers.read"    // get, list and find customers (masked), list tiers
	PermCustomersWrite   Permission = "customers.write"   // create and change customers, contacts, consents, keys
	PermCustomersMerge   Permission = "customers.merge"   // merge duplicate records
	PermCustomersReveal  Permission = "customers.reveal"  // unmask named fields, with a reason
	PermCustomersPrivacy Permission = "customers.privacy" // PIPL requests: export everything, erase
	PermCustomersVerify  Permission = "customers.verify"  // check a customer's identity fact
	PermCustomersResolve Permission = "customers.resolve" // find or create a ticket's customer (intake)
	PermTiersAdmin       Permission = "tiers.admin"       // add customer tiers
	PermCustomersDeliver Permission = "customers.deliver" // a customer's usable contacts in full, to deliver a message (notify)
	// Routing.
	PermRoutingRead     Permission = "routing.read"     // groups, agents, rules, queues; test a rule
	PermRoutingAdmin    Permission = "routing.admin"    // change groups, agents and rules
	PermRoutingPresence Permission = "routing.presence" // set an agent's presence (agents their own)
	PermRoutingTransfer Permission = "routing.transfer" // transfer, accept, hand back (agents their own tickets)
	// Security.
	PermSLARead  Permission = "sla.read"  // SLA policies, calendars, a ticket's targets, the countdown board
	PermSLAAdmin Permission = "sla.admin" // change SLA policies and calendars; re-apply a ticket's policies

	PermAnalyticsRead Permission = "analytics.read" // reports and ingestion status
	// Incidents (emergency mode).
	PermIncidentsRead       Permission = "incidents.read"       // incidents, their tickets, timeline, compensations, post-mortems
	PermIncidentsManage     Permission = "incidents.manage"     // declare, change, link, announce, close; dismiss suggestions
	PermIncidentsDiscuss    Permission = "incidents.discuss"    // add to an incident's internal discussion
	PermIncidentsCompensate Permission = "incidents.compensate" // propose a compensation on a linked ticket
	PermIncidentsApprove    Permission = "incidents.approve"    // approve or reject a compensation (not one's own)
	PermStatusNotices       Permission = "status_notices.read"  // active incidents' public notices (adapters show them)
	// Outbound messages and webhooks.
	PermMessagesRead   Permission = "messages.read"   // a ticket's outbound messages (addresses masked)
	PermMessagesReport Permission = "messages.report" // adapters report what became of an outbound message
	PermNotifyRead     Permission = "notify.read"     // message templates, webhooks and their delivery history
	PermNotifyAdmin    Permission = "notify.admin"    // change templates; create, change and redeliver webhooks
	// Knowledge base.
	PermKbRead   Permission = "kb.read"   // published articles, search, suggestions for a ticket, canned responses
	PermKbUse    Permission = "kb.use"    // record that an article was inserted into a reply and whether it helped
	PermKbWrite  Permission = "kb.write"  // write, publish and archive articles (and read drafts); manage canned responses
	PermKbReport Permission = "kb.report" // the most used and most helpful articles, subcategories without articles

	PermKeysAdmin Permission = "keys.admin" // create, list, rotate and revoke API keys
	PermAuditRead Permission = "audit.read" // read the audit log
)

// Scope says which objects a method touches and so how the caller's object scope applies.
type Scope int

const (
	// ScopeNone: the method touches no ticket (configuration, or a create whose result is the caller's).
	ScopeNone Scope = iota
	// ScopeTicket: the request names one ticket (ticket_id); outside the caller's scope it is NotFound.
	ScopeTicket
	// ScopeTicketList: the method lists tickets; the caller's scope filters the query.
	ScopeTicketList
)

// Audit says whether a call goes into the audit log.
type Audit int

const (
	// AuditNone: configuration reads and other calls that neither change state nor show personal data.
	AuditNone Audit = iota
	// AuditChange: the call changes state (recorded whether allowed or refused).
	AuditChange
	// AuditRead: the call returns unmasked personal data (a customer's contact, their messages).
	AuditRead
)

// Rule is the decision for one RPC: the permission it needs, the scope its object is checked against, and
// whether calls are audited.
type Rule struct {
	Permission Permission
	Scope      Scope
	Audit      Audit
}

// Roles.
const (
	RoleAdapter    = "adapter"    // a channel adapter (API key)
	RoleAgent      = "agent"      // handles tickets of their groups
	RoleSupervisor = "supervisor" // heads groups: assigns, archives
	RoleAdmin      = "admin"      // configures the suite
	RoleAuditor    = "auditor"    // reads, changes nothing
	RoleService    = "service"    // another kefu service (API key): acts on tickets for its own work
)

// methods is the one RPC → rule table of the suite: every method of every kefu service has an entry (a
// test walks proto/ and fails on a missing or stale one), and a method without an entry is denied.
var methods = map[string]Rule{
	"/kefu.intake.v1.IntakeService/SubmitTicket":             {PermTicketsSubmit, ScopeNone, AuditChange},
	"/kefu.intake.v1.IntakeService/GetTicket":                {PermTicketsGet, ScopeTicket, AuditRead},
	"/kefu.intake.v1.IntakeService/ListTickets":              {PermTicketsList, ScopeTicketList, AuditRead},
	"/kefu.intake.v1.IntakeService/ListTimeline":             {PermTicketsGet, ScopeTicket, AuditRead},
	"/kefu.intake.v1.IntakeService/UpdateTicket":             {PermTicketsClassify, ScopeTicket, AuditChange},
	"/kefu.intake.v1.IntakeService/AssignTicket":             {PermTicketsAssign, ScopeTicket, AuditChange},
	"/kefu.intake.v1.IntakeService/StartWork":                {PermTicketsWork, ScopeTicket, AuditChange},
	"/kefu.intake.v1.IntakeService/SetPendingCustomer":       {PermTicketsWork, ScopeTicket, AuditChange},
	"/kefu.intake.v1.IntakeService/AddReply":                 {PermTicketsWork, ScopeTicket, AuditChange},
	"/kefu.intake.v1.IntakeService/AddNote":                  {PermTicketsWork, ScopeTicket, AuditChange},
	"/kefu.intake.v1.IntakeService/AppendCustomerMessage":    {PermTicketsCustomerMsg, ScopeTicket, AuditChange},
	"/kefu.intake.v1.IntakeService/EscalateTicket":           {PermTicketsEscalate, ScopeTicket, AuditChange},
	"/kefu.intake.v1.IntakeService/ResolveTicket":            {PermTicketsResolve, ScopeTicket, AuditChange},
	"/kefu.intake.v1.IntakeService/CloseTicket":              {PermTicketsResolve, ScopeTicket, AuditChange},
	"/kefu.intake.v1.IntakeService/ReopenTicket":             {PermTicketsResolve, ScopeTicket, AuditChange},
	"/kefu.intake.v1.IntakeService/RecordSatisfaction":       {PermTicketsSatisfaction, ScopeTicket, AuditChange},
	"/kefu.intake.v1.IntakeService/ArchiveTicket":            {PermTicketsArchive, ScopeTicket, AuditChange},
	"/kefu.intake.v1.IntakeService/ListSubcategories":        {PermTaxonomyRead, ScopeNone, AuditNone},
	"/kefu.intake.v1.IntakeService/CreateSubcategory":        {PermTaxonomyAdmin, ScopeNone, AuditChange},
	"/kefu.intake.v1.IntakeService/UpdateSubcategory":        {PermTaxonomyAdmin, ScopeNone, AuditChange},
	"/kefu.intake.v1.IntakeService/ListClassificationRules":  {PermTaxonomyRead, ScopeNone, AuditNone},
	"/kefu.intake.v1.IntakeService/CreateClassificationRule": {PermTaxonomyAdmin, ScopeNone, AuditChange},
	"/kefu.intake.v1.IntakeService/UpdateClassificationRule": {PermTaxonomyAdmin, ScopeNone, AuditChange},
	"/kefu.intake.v1.IntakeService/DeleteClassificationRule": {PermTaxonomyAdmin, ScopeNone, AuditChange},
	"/kefu.intake.v1.IntakeService/TestClassification":       {PermTaxonomyRead, ScopeNone, AuditNone},
	"/kefu.customer.v1.CustomerService/CreateCustomer":       {PermCustomersWrite, ScopeNone, AuditChange},
	"/kefu.customer.v1.CustomerService/GetCustomer":          {PermCustomersRead, ScopeNone, AuditNone},
	"/kefu.customer.v1.CustomerService/UpdateCustomer":       {PermCustomersWrite, ScopeNone, AuditChange},
	"/kefu.customer.v1.CustomerService/ListCustomers":        {PermCustomersRead, ScopeNone, AuditNone},
	"/kefu.customer.v1.CustomerService/FindCustomers":        {PermCustomersRead, ScopeNone, AuditNone},
	"/kefu.customer.v1.CustomerService/MergeCustomers":       {PermCustomersMerge, ScopeNone, AuditChange},
	"/kefu.customer.v1.CustomerService/RevealCustomer":       {PermCustomersReveal, ScopeNone, AuditRead},
	"/kefu.customer.v1.CustomerService/GetDeliveryContacts":  {PermCustomersDeliver, ScopeNone, AuditRead},
	"/kefu.customer.v1.CustomerService/AddContact":           {PermCustomersWrite, ScopeNone, AuditChange},
	"/kefu.customer.v1.CustomerService/RemoveContact":        {PermCustomersWrite, ScopeNone, AuditChange},
	"/kefu.customer.v1.CustomerService/RecordConsent":        {PermCustomersWrite, ScopeNone, AuditChange},
	"/kefu.customer.v1.CustomerService/WithdrawConsent":      {PermCustomersWrite, ScopeNone, AuditChange},
	"/kefu.customer.v1.CustomerService/AddBusinessKey":       {PermCustomersWrite, ScopeNone, AuditChange},
	"/kefu.customer.v1.CustomerService/RemoveBusinessKey":    {PermCustomersWrite, ScopeNone, AuditChange},
	"/kefu.customer.v1.CustomerService/EraseCustomer":        {PermCustomersPrivacy, ScopeNone, AuditChange},
	"/kefu.customer.v1.CustomerService/ExportCustomer":       {PermCustomersPrivacy, ScopeNone, AuditRead},
	"/kefu.customer.v1.CustomerService/VerifyIdentity":       {PermCustomersVerify, ScopeNone, AuditChange},
	"/kefu.customer.v1.CustomerService/ResolveCustomer":      {PermCustomersResolve, ScopeNone, AuditChange},
	"/kefu.customer.v1.CustomerService/ListTiers":            {PermCustomersRead, ScopeNone, AuditNone},
	"/kefu.customer.v1.CustomerService/CreateTier":           {PermTiersAdmin, ScopeNone, AuditChange},
	"/kefu.routing.v1.RoutingService/CreateGroup":            {PermRoutingAdmin, ScopeNone, AuditChange},
	"/kefu.routing.v1.RoutingService/GetGroup":               {PermRoutingRead, ScopeNone, AuditNone},
	"/kefu.routing.v1.RoutingService/ListGroups":             {PermRoutingRead, ScopeNone, AuditNone},
	"/kefu.routing.v1.RoutingService/UpdateGroup":            {PermRoutingAdmin, ScopeNone, AuditChange},
	"/kefu.routing.v1.RoutingService/CreateAgent":            {PermRoutingAdmin, ScopeNone, AuditChange},
	"/kefu.routing.v1.RoutingService/GetAgent":               {PermRoutingRead, ScopeNone, AuditNone},
	"/kefu.routing.v1.RoutingService/ListAgents":             {PermRoutingRead, ScopeNone, AuditNone},
	"/kefu.routing.v1.RoutingService/GetMemberships":         {PermRoutingRead, ScopeNone, AuditNone},
	"/kefu.routing.v1.RoutingService/UpdateAgent":            {PermRoutingAdmin, ScopeNone, AuditChange},
	"/kefu.routing.v1.RoutingService/SetPresence":            {PermRoutingPresence, ScopeNone, AuditChange},
	"/kefu.routing.v1.RoutingService/CreateRoutingRule":      {PermRoutingAdmin, ScopeNone, AuditChange},
	"/kefu.routing.v1.RoutingService/ListRoutingRules":       {PermRoutingRead, ScopeNone, AuditNone},
	"/kefu.routing.v1.RoutingService/UpdateRoutingRule":      {PermRoutingAdmin, ScopeNone, AuditChange},
	"/kefu.routing.v1.RoutingService/DeleteRoutingRule":      {PermRoutingAdmin, ScopeNone, AuditChange},
	"/kefu.routing.v1.RoutingService/TestRouting":            {PermRoutingRead, ScopeNone, AuditNone},
	"/kefu.routing.v1.RoutingService/GetQueue":               {PermRoutingRead, ScopeNone, AuditNone},
	// Routing scopes these itself (an agent's own tickets and board, their groups' transfers), since the
	// tickets they name are routing's records, not intake's.
	"/kefu.routing.v1.RoutingService/TransferTicket":   {PermRoutingTransfer, ScopeNone, AuditChange},
	"/kefu.routing.v1.RoutingService/AcceptTransfer":   {PermRoutingTransfer, ScopeNone, AuditChange},
	"/kefu.routing.v1.RoutingService/ListTransfers":    {PermRoutingRead, ScopeNone, AuditNone},
	"/kefu.routing.v1.RoutingService/HandBackTicket":   {PermRoutingTransfer, ScopeNone, AuditChange},
	"/kefu.routing.v1.RoutingService/ListAgentTickets": {PermRoutingRead, ScopeNone, AuditNone},
	// The SLA service keeps clocks, not tickets: a ticket's SLA shows ids, codes and times only, so it is
	// readable like the countdown board rather than scoped through intake.
	"/kefu.sla.v1.SlaService/CreatePolicy":                       {PermSLAAdmin, ScopeNone, AuditChange},
	"/kefu.sla.v1.SlaService/GetPolicy":                          {PermSLARead, ScopeNone, AuditNone},
	"/kefu.sla.v1.SlaService/ListPolicies":                       {PermSLARead, ScopeNone, AuditNone},
	"/kefu.sla.v1.SlaService/UpdatePolicy":                       {PermSLAAdmin, ScopeNone, AuditChange},
	"/kefu.sla.v1.SlaService/CreateCalendar":                     {PermSLAAdmin, ScopeNone, AuditChange},
	"/kefu.sla.v1.SlaService/GetCalendar":                        {PermSLARead, ScopeNone, AuditNone},
	"/kefu.sla.v1.SlaService/ListCalendars":                      {PermSLARead, ScopeNone, AuditNone},
	"/kefu.sla.v1.SlaService/UpdateCalendar":                     {PermSLAAdmin, ScopeNone, AuditChange},
	"/kefu.sla.v1.SlaService/AddBusinessTime":                    {PermSLARead, ScopeNone, AuditNone},
	"/kefu.sla.v1.SlaService/GetBusinessStatus":                  {PermSLARead, ScopeNone, AuditNone},
	"/kefu.sla.v1.SlaService/GetTicketSla":                       {PermSLARead, ScopeNone, AuditNone},
	"/kefu.sla.v1.SlaService/ReapplySla":                         {PermSLAAdmin, ScopeNone, AuditChange},
	"/kefu.sla.v1.SlaService/ListAtRisk":                         {PermSLARead, ScopeNone, AuditNone},
	"/kefu.analytics.v1.AnalyticsService/GetVolumeReport":        {PermAnalyticsRead, ScopeNone, AuditNone},
	"/kefu.analytics.v1.AnalyticsService/GetTimelinessReport":    {PermAnalyticsRead, ScopeNone, AuditNone},
	"/kefu.analytics.v1.AnalyticsService/GetSlaReport":           {PermAnalyticsRead, ScopeNone, AuditNone},
	"/kefu.analytics.v1.AnalyticsService/GetSatisfactionReport":  {PermAnalyticsRead, ScopeNone, AuditNone},
	"/kefu.analytics.v1.AnalyticsService/GetWorkloadReport":      {PermAnalyticsRead, ScopeNone, AuditNone},
	"/kefu.analytics.v1.AnalyticsService/GetIngestionStatus":     {PermAnalyticsRead, ScopeNone, AuditNone},
	"/kefu.analytics.v1.AnalyticsService/GetTopIssuesReport":     {PermAnalyticsRead, ScopeNone, AuditNone},
	"/kefu.analytics.v1.AnalyticsService/GetCollaborationReport": {PermAnalyticsRead, ScopeNone, AuditNone},
	"/kefu.analytics.v1.AnalyticsService/GetSummary":             {PermAnalyticsRead, ScopeNone, AuditNone},
	// An export leaves the system as a file: recorded like a read of personal data.
	"/kefu.analytics.v1.AnalyticsService/ExportReport":          {PermAnalyticsRead, ScopeNone, AuditRead},
	"/kefu.analytics.v1.AnalyticsService/ListVolumeSurges":      {PermAnalyticsRead, ScopeNone, AuditNone},
	"/kefu.intake.v1.IncidentService/DeclareIncident":           {PermIncidentsManage, ScopeNone, AuditChange},
	"/kefu.intake.v1.IncidentService/GetIncident":               {PermIncidentsRead, ScopeNone, AuditNone},
	"/kefu.intake.v1.IncidentService/ListIncidents":             {PermIncidentsRead, ScopeNone, AuditNone},
	"/kefu.intake.v1.IncidentService/UpdateIncident":            {PermIncidentsManage, ScopeNone, AuditChange},
	"/kefu.intake.v1.IncidentService/LinkTickets":               {PermIncidentsManage, ScopeNone, AuditChange},
	"/kefu.intake.v1.IncidentService/ListIncidentTickets":       {PermIncidentsRead, ScopeTicketList, AuditRead},
	"/kefu.intake.v1.IncidentService/AddIncidentNote":           {PermIncidentsDiscuss, ScopeNone, AuditChange},
	"/kefu.intake.v1.IncidentService/ListIncidentActions":       {PermIncidentsRead, ScopeNone, AuditNone},
	"/kefu.intake.v1.IncidentService/Announce":                  {PermIncidentsManage, ScopeNone, AuditChange},
	"/kefu.intake.v1.IncidentService/GetAnnouncement":           {PermIncidentsRead, ScopeNone, AuditNone},
	"/kefu.intake.v1.IncidentService/ListStatusNotices":         {PermStatusNotices, ScopeNone, AuditNone},
	"/kefu.intake.v1.IncidentService/ProposeCompensation":       {PermIncidentsCompensate, ScopeNone, AuditChange},
	"/kefu.intake.v1.IncidentService/DecideCompensation":        {PermIncidentsApprove, ScopeNone, AuditChange},
	"/kefu.intake.v1.IncidentService/ListCompensations":         {PermIncidentsRead, ScopeNone, AuditNone},
	"/kefu.intake.v1.IncidentService/CloseIncident":             {PermIncidentsManage, ScopeNone, AuditChange},
	"/kefu.intake.v1.IncidentService/GetPostmortem":             {PermIncidentsRead, ScopeNone, AuditNone},
	"/kefu.intake.v1.IncidentService/ListIncidentSuggestions":   {PermIncidentsRead, ScopeNone, AuditNone},
	"/kefu.intake.v1.IncidentService/DismissIncidentSuggestion": {PermIncidentsManage, ScopeNone, AuditChange},
	"/kefu.notify.v1.NotifyService/GetAnnouncementDelivery":     {PermIncidentsRead, ScopeNone, AuditNone},
	"/kefu.notify.v1.NotifyService/ListMessages":                {PermMessagesRead, ScopeTicket, AuditRead},
	"/kefu.notify.v1.NotifyService/ReportDelivery":              {PermMessagesReport, ScopeNone, AuditChange},
	"/kefu.notify.v1.NotifyService/ListTemplates":               {PermNotifyRead, ScopeNone, AuditNone},
	"/kefu.notify.v1.NotifyService/SetTemplate":                 {PermNotifyAdmin, ScopeNone, AuditChange},
	"/kefu.notify.v1.NotifyService/CreateWebhook":               {PermNotifyAdmin, ScopeNone, AuditChange},
	"/kefu.notify.v1.NotifyService/GetWebhook":                  {PermNotifyRead, ScopeNone, AuditNone},
	"/kefu.notify.v1.NotifyService/ListWebhooks":                {PermNotifyRead, ScopeNone, AuditNone},
	"/kefu.notify.v1.NotifyService/UpdateWebhook":               {PermNotifyAdmin, ScopeNone, AuditChange},
	"/kefu.notify.v1.NotifyService/DeleteWebhook":               {PermNotifyAdmin, ScopeNone, AuditChange},
	"/kefu.notify.v1.NotifyService/RotateWebhookSecret":         {PermNotifyAdmin, ScopeNone, AuditChange},
	"/kefu.notify.v1.NotifyService/ListWebhookDeliveries":       {PermNotifyRead, ScopeNone, AuditNone},
	"/kefu.notify.v1.NotifyService/GetWebhookDelivery":          {PermNotifyRead, ScopeNone, AuditNone},
	"/kefu.notify.v1.NotifyService/RedeliverWebhookDelivery":    {PermNotifyAdmin, ScopeNone, AuditChange},
	// Knowledge base. The calls naming a ticket read it from intake with kb's own key and apply the caller's
	// scope to it themselves (TicketScope.Admits, intake's rule), so a ticket outside it is NotFound.
	// Rendering a canned response returns the ticket's subject, the customer's words: a personal-data read.
	"/kefu.kb.v1.KbService/CreateArticle":         {PermKbWrite, ScopeNone, AuditChange},
	"/kefu.kb.v1.KbService/GetArticle":            {PermKbRead, ScopeNone, AuditNone},
	"/kefu.kb.v1.KbService/ListArticles":          {PermKbRead, ScopeNone, AuditNone},
	"/kefu.kb.v1.KbService/UpdateArticle":         {PermKbWrite, ScopeNone, AuditChange},
	"/kefu.kb.v1.KbService/PublishArticle":        {PermKbWrite, ScopeNone, AuditChange},
	"/kefu.kb.v1.KbService/ArchiveArticle":        {PermKbWrite, ScopeNone, AuditChange},
	"/kefu.kb.v1.KbService/RestoreArticle":        {PermKbWrite, ScopeNone, AuditChange},
	"/kefu.kb.v1.KbService/ListArticleVersions":   {PermKbRead, ScopeNone, AuditNone},
	"/kefu.kb.v1.KbService/GetArticleVersion":     {PermKbRead, ScopeNone, AuditNone},
	"/kefu.kb.v1.KbService/SearchArticles":        {PermKbRead, ScopeNone, AuditNone},
	"/kefu.kb.v1.KbService/SuggestArticles":       {PermKbRead, ScopeTicket, AuditNone},
	"/kefu.kb.v1.KbService/RecordArticleUse":      {PermKbUse, ScopeTicket, AuditChange},
	"/kefu.kb.v1.KbService/GetKbReport":           {PermKbReport, ScopeNone, AuditNone},
	"/kefu.kb.v1.KbService/CreateCannedResponse":  {PermKbWrite, ScopeNone, AuditChange},
	"/kefu.kb.v1.KbService/GetCannedResponse":     {PermKbRead, ScopeNone, AuditNone},
	"/kefu.kb.v1.KbService/ListCannedResponses":   {PermKbRead, ScopeNone, AuditNone},
	"/kefu.kb.v1.KbService/UpdateCannedResponse":  {PermKbWrite, ScopeNone, AuditChange},
	"/kefu.kb.v1.KbService/DeleteCannedResponse":  {PermKbWrite, ScopeNone, AuditChange},
	"/kefu.kb.v1.KbService/RenderCannedResponse":  {PermKbRead, ScopeTicket, AuditRead},
	"/kefu.auth.v1.KeyService/CreateApiKey":       {PermKeysAdmin, ScopeNone, AuditChange},
	"/kefu.auth.v1.KeyService/ListApiKeys":        {PermKeysAdmin, ScopeNone, AuditNone},
	"/kefu.auth.v1.KeyService/RotateApiKey":       {PermKeysAdmin, ScopeNone, AuditChange},
	"/kefu.auth.v1.KeyService/RevokeApiKey":       {PermKeysAdmin, ScopeNone, AuditChange},
	"/kefu.auth.v1.AuditService/ListAuditRecords": {PermAuditRead, ScopeNone, AuditRead},
}

// grants is what each role may do. Scope narrows it further per object (an agent's tickets are those
// assigned to them or queued in their groups; an adapter's those it submitted).
var grants = map[string][]Permission{
	// Adapters verify a caller's identity (IVR, chat bots) but never read customer records.
	RoleAdapter: {PermTicketsSubmit, PermTicketsGet, PermTicketsCustomerMsg, PermTicketsSatisfaction, PermTaxonomyRead,
		PermCustomersVerify, PermRoutingPresence, PermMessagesReport, PermStatusNotices},
	RoleAgent: {PermTicketsGet, PermTicketsList, PermTicketsClassify, PermTicketsWork, PermTicketsEscalate,
		PermTicketsResolve, PermTicketsSatisfaction, PermTaxonomyRead,
		PermCustomersRead, PermCustomersWrite, PermCustomersReveal, PermCustomersVerify,
		PermRoutingRead, PermRoutingPresence, PermRoutingTransfer, PermSLARead, PermMessagesRead,
		PermIncidentsRead, PermIncidentsDiscuss, PermIncidentsCompensate, PermStatusNotices,
		PermKbRead, PermKbUse},
	RoleSupervisor: {PermTicketsGet, PermTicketsList, PermTicketsClassify, PermTicketsWork, PermTicketsEscalate,
		PermTicketsResolve, PermTicketsSatisfaction, PermTicketsAssign, PermTicketsArchive, PermTaxonomyRead,
		PermCustomersRead, PermCustomersWrite, PermCustomersReveal, PermCustomersVerify, PermCustomersMerge,
		PermRoutingRead, PermRoutingPresence, PermRoutingTransfer, PermSLARead, PermAnalyticsRead, PermMessagesRead,
		PermNotifyRead, PermIncidentsRead, PermIncidentsManage, PermIncidentsDiscuss, PermIncidentsCompensate,
		PermIncidentsApprove, PermStatusNotices,
		PermKbRead, PermKbUse, PermKbWrite, PermKbReport},
	// Admins handle PIPL requests (export, erasure) besides configuring the suite.
	RoleAdmin: {PermTicketsGet, PermTicketsList, PermTicketsClassify, PermTicketsWork, PermTicketsEscalate,
		PermTicketsResolve, PermTicketsSatisfaction, PermTicketsAssign, PermTicketsArchive, PermTaxonomyRead,
		PermTaxonomyAdmin, PermKeysAdmin, PermAuditRead,
		PermCustomersRead, PermCustomersWrite, PermCustomersReveal, PermCustomersVerify, PermCustomersMerge,
		PermCustomersPrivacy, PermTiersAdmin, PermRoutingRead, PermRoutingAdmin, PermRoutingPresence, PermRoutingTransfer,
		PermSLARead, PermSLAAdmin, PermAnalyticsRead, PermMessagesRead, PermNotifyRead, PermNotifyAdmin,
		PermIncidentsRead, PermIncidentsManage, PermIncidentsDiscuss, PermIncidentsCompensate, PermIncidentsApprove,
		PermStatusNotices,
		PermKbRead, PermKbUse, PermKbWrite, PermKbReport},
	// Auditors read masked records and the audit log; unmasking stays with staff who have a reason.
	RoleAuditor: {PermTicketsGet, PermTicketsList, PermTaxonomyRead, PermAuditRead, PermCustomersRead, PermRoutingRead,
		PermSLARead, PermAnalyticsRead, PermMessagesRead, PermNotifyRead, PermIncidentsRead,
		PermKbRead, PermKbReport},
	// Services act on every ticket for their own work (routing assigns, the SLA timer escalates); they
	// neither submit for customers nor configure the suite. Intake resolves and verifies customers on
	// submit; routing and the SLA timer read tiers; the notifier reads delivery contacts, never whole records.
	RoleService: {PermTicketsGet, PermTicketsList, PermTicketsClassify, PermTicketsAssign, PermTicketsWork,
		PermTicketsEscalate, PermTicketsResolve, PermTaxonomyRead,
		PermCustomersRead, PermCustomersResolve, PermCustomersVerify, PermCustomersDeliver, PermRoutingRead, PermSLARead,
		PermMessagesRead, PermMessagesReport, PermIncidentsRead, PermStatusNotices,
		PermKbRead},
}

// RuleFor returns the rule of a full method name ("/pkg.Service/Method"); ok is false for a method the
// table does not know, which callers must deny.
func RuleFor(fullMethod string) (Rule, bool) {
	r, ok := methods[fullMethod]
	return r, ok
}

// Methods returns every full method name in the table, sorted.
func Methods() []string {
	return slices.Sorted(maps.Keys(methods))
}

// Roles returns every role, sorted.
func Roles() []string {
	return slices.Sorted(maps.Keys(grants))
}

// Allows reports whether any of roles grants p. Unknown roles grant nothing.
func Allows(roles []string, p Permission) bool {
	for _, role := range roles {
		if slices.Contains(grants[role], p) {
			return true
		}
	}
	return false
}

// Grants returns the permissions role grants (none for an unknown role).
func Grants(role string) []Permission {
	return slices.Clone(grants[role])
}
