package mlflow

// registryRoutes are the model registry routes, under the tracking prefixes.
func (s *server) registryRoutes() []route {
	return nil
}
