"""The operator's configuration: the YAML files' schemas and their loading (defaults ship as
package data)."""
