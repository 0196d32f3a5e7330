"""Reference solution: production's tables, each with a floor well under today's rows and far
above what a staging database holds."""

expectations = ["orders=1000", "order_items=2000", "customers=500", "catalog=100", "payments=500"]
