"""vpc-created: tell the admins about every new VPC (notify only; nothing is changed)."""
