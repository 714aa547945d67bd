// glibc's allocator controls (malloc.h, which the Glibc module does not export): llmuxd calls
// malloc_trim when idle so that memory a burst of requests freed goes back to the kernel.
#include <malloc.h>
