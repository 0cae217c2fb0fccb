// Package pkg is the root of kefu's shared module; the libraries live in its subpackages.
package pkg
