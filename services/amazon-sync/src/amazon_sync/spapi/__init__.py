"""A thin client of Amazon's Selling Partner API of our own."""
