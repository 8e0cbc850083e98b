"""Real-time delivery: the Redis connection that instances share (pub/sub arrives with its issue)."""
