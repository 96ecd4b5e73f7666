/*
 * An LD_PRELOAD shim that makes every fsync and fdatasync of a process take at least
 * CITES_FSYNC_DELAY_US microseconds longer: the real call runs, then the calling thread sleeps.
 * The caller sees what a slower disk shows it (the thread blocked, no CPU used meanwhile), so the
 * quota benchmark can be run at the fsync latencies quota-notes 2.2 measured on this kind of
 * machine (0.13 to 3.1 ms) when today's disk answers in 0.15 ms. Benchmarks only.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>
#include <errno.h>

static long delay_us(void) {
    static long cached = -1;
    if (cached < 0) {
        const char *v = getenv("CITES_FSYNC_DELAY_US");
        long d = v ? strtol(v, NULL, 10) : 0;
        cached = d > 0 ? d : 0;
    }
    return cached;
}

static void pause_for_disk(void) {
    long us = delay_us();
    if (us == 0) return;
    int saved = errno;
    struct timespec t = { us / 1000000, (us % 1000000) * 1000 };
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {
    }
    errno = saved;
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    int r = real(fd);
    pause_for_disk();
    return r;
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    int r = real(fd);
    pause_for_disk();
    return r;
}
