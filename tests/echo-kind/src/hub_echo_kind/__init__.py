"""A kind that lives only in the tests (`echo`), installed like any plugin, to show that a kind is one
package and one entry point: the manager lists, creates, starts, probes and stops it without knowing it."""
