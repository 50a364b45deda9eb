module example.com/shop

go 1.26.0

require (
	entgo.io/ent v0.14.5
	github.com/weber-framework/weber v0.1.0
)
