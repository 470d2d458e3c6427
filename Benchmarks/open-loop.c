// Open-loop HTTP/1.1 load generator: requests start on a schedule fixed in advance (evenly spaced, or Poisson
// arrivals from a seeded generator so two runs see the same sequence), whatever the server's latency — the way
// wrk2 measures, unlike wrk's closed loop whose `delay()` pacing sends connections in bursts (PERFORMANCE.md,
// "Session 10"). Each request goes out on a random idle keep-alive connection; a request due while every
// connection is busy waits for one and its latency counts from when it was due (no coordinated omission).
//
//   open-loop -u http://127.0.0.1:8080/v1/chat/completions -r 1000 -d 10 [-a even|poisson] [-c 32] [-s seed]
//             [-H 'Name: value']... [-b body] [-w warmup-seconds]
// Prints one line: arrivals, achieved rate, p50 p90 p99 p99.9 max in microseconds, non-2xx and late (due while
// every connection was busy).
// Built by Benchmarks/proxy-overhead.sh with the toolchain's clang; loopback only, stops by itself.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

enum { MAX_CONNECTIONS = 1024, BUFFER = 1 << 16 };

typedef struct {
    int fd;
    uint64_t started;      // when the request counts from (sent, or due if it waited for a connection)
    char buf[BUFFER];
    size_t len;
} Connection;

static Connection connections[MAX_CONNECTIONS];
static int connectionCount = 32;
static char *request;
static size_t requestLength;
static uint64_t *latencies;
static size_t latencyCount, latencyCapacity;
static long non2xx, late;
static uint64_t recordFrom;  // responses completing before this (the warm-up) are not recorded

static uint64_t nowNs(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
    perror(what);
    exit(2);
}

// xorshift64*: a fixed seed gives direct and gateway runs the same arrival sequence. Connection choices draw
// from a stream of their own, so how many connections happen to be idle cannot shift the arrivals.
static uint64_t arrivalState = 0x9E3779B97F4A7C15ull, choiceState = 0xD1B54A32D192ED03ull;
static double uniform(uint64_t *state) {
    *state ^= *state >> 12; *state ^= *state << 25; *state ^= *state >> 27;
    return (double)((*state * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

static int openConnection(const struct sockaddr_in *address) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) die("socket");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (const struct sockaddr *)address, sizeof *address) < 0 && errno != EINPROGRESS) die("connect");
    return fd;
}

// Length of a complete response at the start of buf, 0 if incomplete. Handles Content-Length and chunked bodies.
static size_t completeResponse(const char *buf, size_t len, int *status) {
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (!end) return 0;
    size_t head = (size_t)(end - buf) + 4;
    *status = atoi(buf + 9);
    long contentLength = -1;
    int chunked = 0;
    for (const char *line = strstr(buf, "\r\n") + 2; line < end; line = strstr(line, "\r\n") + 2) {
        if (strncasecmp(line, "content-length:", 15) == 0) contentLength = atol(line + 15);
        if (strncasecmp(line, "transfer-encoding:", 18) == 0 && memmem(line, (size_t)(strstr(line, "\r\n") - line), "chunked", 7)) chunked = 1;
    }
    if (!chunked) return len >= head + (size_t)(contentLength < 0 ? 0 : contentLength) ? head + (size_t)(contentLength < 0 ? 0 : contentLength) : 0;
    size_t at = head;
    for (;;) {
        const char *lineEnd = memmem(buf + at, len - at, "\r\n", 2);
        if (!lineEnd) return 0;
        size_t size = strtoul(buf + at, NULL, 16);
        at = (size_t)(lineEnd - buf) + 2;
        if (size == 0) {  // last chunk; no trailers expected
            return len >= at + 2 ? at + 2 : 0;
        }
        if (len < at + size + 2) return 0;
        at += size + 2;
    }
}

static void record(uint64_t latency) {
    if (latencyCount == latencyCapacity) {
        latencyCapacity = latencyCapacity ? latencyCapacity * 2 : 1 << 16;
        latencies = realloc(latencies, latencyCapacity * sizeof *latencies);
        if (!latencies) die("realloc");
    }
    latencies[latencyCount++] = latency;
}

static void sendRequest(Connection *c, uint64_t countFrom) {
    c->len = 0;
    c->started = countFrom;
    ssize_t written = write(c->fd, request, requestLength);
    if (written != (ssize_t)requestLength) die("write (the request must fit the socket buffer)");
}

static int compare(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    const char *url = NULL, *body = "", *arrivals = "even";
    double rate = 1000, duration = 10, warmup = 1;
    char headers[8192] = "";
    for (int opt; (opt = getopt(argc, argv, "u:r:d:a:c:s:H:b:w:")) != -1;) {
        switch (opt) {
        case 'u': url = optarg; break;
        case 'r': rate = atof(optarg); break;
        case 'd': duration = atof(optarg); break;
        case 'a': arrivals = optarg; break;
        case 'c': connectionCount = atoi(optarg); break;
        case 's': arrivalState = strtoull(optarg, NULL, 10) | 1; break;
        case 'H': strncat(headers, optarg, sizeof headers - strlen(headers) - 3); strcat(headers, "\r\n"); break;
        case 'b': body = optarg; break;
        case 'w': warmup = atof(optarg); break;
        default: fprintf(stderr, "usage: see the comment at the top of open-loop.c\n"); return 2;
        }
    }
    int port;
    char path[1024] = "/";
    if (!url || sscanf(url, "http://127.0.0.1:%d%1023s", &port, path) < 1 || connectionCount < 1 ||
        connectionCount > MAX_CONNECTIONS || rate <= 0 || (strcmp(arrivals, "even") && strcmp(arrivals, "poisson"))) {
        fprintf(stderr, "usage: open-loop -u http://127.0.0.1:PORT/path -r rate -d seconds [-a even|poisson] [-c n]\n");
        return 2;
    }
    requestLength = (size_t)asprintf(&request, "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%sContent-Length: %zu\r\n\r\n%s",
                                     path, port, headers, strlen(body), body);

    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    int epoll = epoll_create1(0), timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    if (epoll < 0 || timer < 0) die("epoll/timerfd");
    for (int i = 0; i < connectionCount; i++) {
        connections[i].fd = openConnection(&address);
        struct epoll_event event = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if (epoll_ctl(epoll, EPOLL_CTL_ADD, connections[i].fd, &event) < 0) die("epoll_ctl");
    }
    struct epoll_event timerEvent = {.events = EPOLLIN, .data.u32 = UINT32_MAX};
    epoll_ctl(epoll, EPOLL_CTL_ADD, timer, &timerEvent);
    usleep(100000);  // let the connections finish connecting

    const double gapNs = 1e9 / rate;
    const uint64_t start = nowNs();
    recordFrom = start + (uint64_t)(warmup * 1e9);
    const uint64_t stop = recordFrom + (uint64_t)(duration * 1e9);
    uint64_t next = start;
    uint64_t *waiting = malloc(sizeof(uint64_t) * 1000000);  // due times of requests waiting for a connection
    size_t waitingHead = 0, waitingTail = 0;
    int idle[MAX_CONNECTIONS], idleCount = connectionCount;
    for (int i = 0; i < connectionCount; i++) idle[i] = i;

    for (;;) {
        uint64_t now = nowNs();
        while (next <= now && next < stop) {  // everything due by now
            if (idleCount > 0) {
                int pick = (int)(uniform(&choiceState) * idleCount);
                int index = idle[pick];
                idle[pick] = idle[--idleCount];
                sendRequest(&connections[index], nowNs());
            } else {
                if (next >= recordFrom) late++;
                if (waitingTail == 1000000) { fprintf(stderr, "too far behind schedule\n"); return 2; }
                waiting[waitingTail++] = next;
            }
            next += strcmp(arrivals, "poisson") == 0 ? (uint64_t)(-log(1 - uniform(&arrivalState)) * gapNs) : (uint64_t)gapNs;
        }
        if (next >= stop && idleCount == connectionCount && waitingHead == waitingTail) break;
        if (next < stop) {
            struct itimerspec when = {.it_value = {.tv_sec = (time_t)(next / 1000000000ull), .tv_nsec = (long)(next % 1000000000ull)}};
            timerfd_settime(timer, TFD_TIMER_ABSTIME, &when, NULL);
        }
        struct epoll_event events[64];
        int ready = epoll_wait(epoll, events, 64, next < stop ? -1 : 5000);
        if (ready == 0) { fprintf(stderr, "responses stopped arriving\n"); return 2; }
        for (int e = 0; e < ready; e++) {
            uint32_t index = events[e].data.u32;
            if (index == UINT32_MAX) { uint64_t expirations; (void)!read(timer, &expirations, sizeof expirations); continue; }
            Connection *c = &connections[index];
            ssize_t got = read(c->fd, c->buf + c->len, BUFFER - 1 - c->len);
            if (got <= 0) {
                if (got < 0 && errno == EAGAIN) continue;
                fprintf(stderr, "connection %u closed by the server\n", index);
                return 2;
            }
            c->len += (size_t)got;
            c->buf[c->len] = 0;  // the header scan below uses string functions
            int status = 0;
            size_t used = completeResponse(c->buf, c->len, &status);
            if (used == 0) {
                if (c->len == BUFFER - 1) { fprintf(stderr, "a response larger than %d bytes\n", BUFFER); return 2; }
                continue;
            }
            uint64_t done = nowNs();
            if (done >= recordFrom && c->started >= recordFrom) {
                record(done - c->started);
                if (status < 200 || status > 399) non2xx++;
            }
            if (waitingHead < waitingTail) sendRequest(c, waiting[waitingHead++]);
            else idle[idleCount++] = (int)index;
        }
    }
    if (latencyCount == 0) { fprintf(stderr, "no responses recorded\n"); return 2; }
    qsort(latencies, latencyCount, sizeof *latencies, compare);
#define PCT(p) (latencies[(size_t)((latencyCount - 1) * (p))] / 1000.0)
    printf("arrivals=%s requests=%zu rate=%.0f p50=%.0f p90=%.0f p99=%.0f p999=%.0f max=%.0f non2xx=%ld late=%ld\n",
           arrivals, latencyCount, latencyCount / duration, PCT(0.5), PCT(0.9), PCT(0.99), PCT(0.999),
           latencies[latencyCount - 1] / 1000.0, non2xx, late);
    return 0;
}
