package core

import "context"

// Anonymous is the actor of requests that carry no credentials.
const Anonymous = "anonymous"

type actorKey struct{}

// WithActor returns a context that carries the name of the user making the request.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// ActorFrom returns the actor carried by ctx, or Anonymous.
func ActorFrom(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return Anonymous
}
