"""IAM as AWS evaluates it, on every call to the embedded AWS (engine: @cloud-copilot/iam-simulate, test-time only)."""
