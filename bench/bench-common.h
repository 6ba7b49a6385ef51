/* bench-common.h: the work items W1-W5, shared by every peer program
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every message starts with an 8-byte tag: the client's id (u32) and the
 * message's sequence number (u32).  Byte 8 is 1 when the client wants the
 * tag echoed back as the reply (peers always echo it; PipeCom only then).
 * Every peer's listener answers each message with the 8-byte tag. */
#define BENCH_TAG_SIZE 8
#define BENCH_MIN_SIZE 16

typedef struct
{
  const char *name;
  /* Serves @address until killed; calls bench_handled() per message. */
  int    (*listen)     (const char *address);
  /* A persistent connection, or NULL (the reason on stderr). */
  void  *(*connect)    (const char *address);
  /* One round trip on @conn: sends @msg and waits for its acknowledgement;
   * fills @tag with the echoed tag (when @msg[8] is 1, the peer must return
   * what the listener sent). */
  bool   (*request)    (void *conn, const uint8_t *msg, size_t len, uint8_t *tag);
  /* One round trip on a fresh connection. */
  bool   (*oneshot)    (const char *address, const uint8_t *msg, size_t len, uint8_t *tag);
  void   (*disconnect) (void *conn);
} BenchPeer;

/* Called by a listener for every handled message. */
void bench_handled (void);
/* Called by a listener once it serves: prints "ready" on stdout. */
void bench_ready   (void);

int  bench_main    (const BenchPeer *peer, int argc, char **argv);

/* Blocking I/O helpers for the C peers: false on error or end of file. */
bool bench_read_full  (int fd, void *buf, size_t len);
bool bench_write_full (int fd, const void *buf, size_t len);
bool bench_writev2    (int fd, const void *a, size_t alen, const void *b, size_t blen);
