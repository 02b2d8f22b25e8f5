"""Rate limits and the refused-access trail: protections shared by every surface."""
