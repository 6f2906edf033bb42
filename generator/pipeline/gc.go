package pipeline

// GCPercent and MemoryLimit are the garbage collector's settings for a
// command that renders sites (generate, check), unless the environment
// sets GOGC or GOMEMLIMIT. Rendering allocates much and keeps little (a
// site's values are dropped once its files are taken), so collecting
// less often saves CPU for a bounded growth of the heap; the limit keeps
// a large run under the 1 GiB target. docs/performance.md section 2 has
// the measurements behind the percent.
const (
	GCPercent   = 400
	MemoryLimit = 1 << 30
)
