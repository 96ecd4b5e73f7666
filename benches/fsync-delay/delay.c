/*
 * An LD_PRELOAD shim that makes every fsync and fdatasync of a process take at least
 * CITES_FSYNC_DELAY_US microseconds longer: the real call runs, then the calling thread sleeps.
 * The caller sees what a slower disk shows it (the thread blocked, no CPU used meanwhile), so the
 * quota benchmark can be run at the fsync latencies its goals were set at on this kind of
 * machine (0.13 to 3.1 ms; see benches/README.md) when today's disk answers in 0.15 ms.
 * Benchmarks only.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static long delay_us;

/* Set up once, when the library is loaded and before any thread of the process can call in. */
__attribute__((constructor)) static void set_up(void) {
    real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    if (!real_fsync || !real_fdatasync) {
        fprintf(stderr, "fsync-delay: fsync or fdatasync not found: %s\n", dlerror());
        abort();
    }
    const char *v = getenv("CITES_FSYNC_DELAY_US");
    char *end = NULL;
    long d = v ? strtol(v, &end, 10) : 0;
    if (v && (*v == '\0' || *end != '\0' || d < 0 || d > 1000000)) {
        fprintf(stderr, "fsync-delay: CITES_FSYNC_DELAY_US=%s: accepted a whole number of "
                        "microseconds from 0 to 1000000\n", v);
        abort();
    }
    delay_us = d;
}

static void pause_for_disk(void) {
    int saved = errno;
    if (delay_us > 0) {
        struct timespec t = { delay_us / 1000000, (delay_us % 1000000) * 1000 };
        while (nanosleep(&t, &t) != 0 && errno == EINTR) {
        }
    }
    errno = saved;
}

int fsync(int fd) {
    int r = real_fsync(fd);
    pause_for_disk();
    return r;
}

int fdatasync(int fd) {
    int r = real_fdatasync(fd);
    pause_for_disk();
    return r;
}
