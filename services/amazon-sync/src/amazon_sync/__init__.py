"""amazon-sync: one Amazon seller account's orders, order items and inventory reports, fetched from the
Selling Partner API into SQL tables and CSV exports (an instance of the `amazon` kind)."""
