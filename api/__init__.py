"""HTTP layer: the Litestar application, its controllers, problem details and phone pages."""
