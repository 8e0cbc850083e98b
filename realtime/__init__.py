"""Real-time delivery: events, brokers (in-process and Redis), the subscription hub, tickets."""
