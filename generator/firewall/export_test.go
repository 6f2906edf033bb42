package firewall

// ChainPublished is chainPublished, for the namespace tests of the
// external test package.
const ChainPublished = chainPublished
