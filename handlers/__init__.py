"""HTTP and WebSocket edges: parse, authorize, call the store or a service, serialize."""
