package pipeline

// GCPercent and MemoryLimit are the garbage collector's settings for a
// command that renders sites (generate, check), each unless the
// environment sets GOGC or GOMEMLIMIT. Rendering allocates about 50 MB
// per site and keeps little, so collecting less often saves CPU. What it
// keeps grows with the number of pictures drawn (the Graphviz module's
// memory, which it never gives back: about 0.04 MB a drawing, 0.3 MB
// before the copy of go-graphviz freed each drawing's SVG and DOT), and
// GOGC=400 lets the heap reach five times what is kept; the soft limit
// holds it at 512 MiB, collecting more often only once it is reached.
// docs/performance.md section 2 has the measurements.
const (
	GCPercent   = 400
	MemoryLimit = 512 << 20
)
