module kefu.dev/services/routing

go 1.26.0

require kefu.dev/pkg v0.0.0

replace kefu.dev/pkg => ../../pkg
