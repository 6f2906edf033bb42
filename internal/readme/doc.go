// Package readme holds the test that runs the commands of the
// repository's README.md, in a fresh copy of the repository, as a new
// user would type them: readme_test.go.
package readme
