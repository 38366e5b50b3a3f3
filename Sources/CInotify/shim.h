#include <inotifytools/inotifytools.h>
#include <sys/inotify.h>
#include <poll.h>
#include <unistd.h>

// Swift does not import macros built from other macros; these expose the ones the watcher needs.

/// A file finished arriving: closed after writing, or renamed into the folder.
static inline uint32_t cinotify_arrival_mask(void) { return IN_CLOSE_WRITE | IN_MOVED_TO; }
/// A file left the folder: deleted or renamed away.
static inline uint32_t cinotify_departure_mask(void) { return IN_DELETE | IN_MOVED_FROM; }
/// The watched folder itself went away (its watch is then removed by the kernel).
static inline uint32_t cinotify_gone_mask(void) { return IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED; }
static inline uint32_t cinotify_overflow_mask(void) { return IN_Q_OVERFLOW; }
static inline uint32_t cinotify_is_dir_mask(void) { return IN_ISDIR; }
static inline uint32_t cinotify_all_events(void) { return IN_ALL_EVENTS; }
static inline int cinotify_init(void) { return inotify_init1(IN_NONBLOCK | IN_CLOEXEC); }
/// The fixed-size header of `struct inotify_event` (the name follows it).
static inline size_t cinotify_event_size(void) { return sizeof(struct inotify_event); }
/// Waits up to `timeout_ms` for `fd` to become readable; returns poll(2)'s result.
static inline int cinotify_wait_readable(int fd, int timeout_ms) {
    struct pollfd p = { .fd = fd, .events = POLLIN, .revents = 0 };
    return poll(&p, 1, timeout_ms);
}
