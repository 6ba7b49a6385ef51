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
 * message's sequence number (u32).  Byte 8 says what the client wants back:
 *
 *   BENCH_WANT_ACK    an acknowledgement (W1, W3, W5: PipeCom's handler
 *                     returns nothing; the other peers echo the tag)
 *   BENCH_WANT_TAG    the 8-byte tag as the reply (W4)
 *   BENCH_WANT_REPLY  a 16-byte reply, the message's first 16 bytes (W1r)
 *
 * Every peer's listener answers each message with its first
 * bench_reply_size() bytes, which the client checks. */
#define BENCH_TAG_SIZE   8
#define BENCH_REPLY_SIZE 16
#define BENCH_MIN_SIZE   16

enum
{
  BENCH_WANT_ACK = 0,
  BENCH_WANT_TAG = 1,
  BENCH_WANT_REPLY = 2,
};

/* The size of the reply a listener sends for @msg (at least
 * BENCH_MIN_SIZE bytes): BENCH_REPLY_SIZE for BENCH_WANT_REPLY, else
 * BENCH_TAG_SIZE. */
static inline size_t
bench_reply_size (const uint8_t *msg)
{
  return msg[BENCH_TAG_SIZE] == BENCH_WANT_REPLY ? BENCH_REPLY_SIZE : BENCH_TAG_SIZE;
}

typedef struct
{
  const char *name;
  /* Serves @address until killed; calls bench_handled() per message. */
  int    (*listen)     (const char *address);
  /* A persistent connection, or NULL (the reason on stderr). */
  void  *(*connect)    (const char *address);
  /* One round trip on @conn: sends @msg and waits for its acknowledgement;
   * fills @reply (BENCH_REPLY_SIZE bytes) with the bench_reply_size() bytes
   * echoed (unless @msg[8] is BENCH_WANT_ACK, the peer must return what the
   * listener sent). */
  bool   (*request)    (void *conn, const uint8_t *msg, size_t len, uint8_t *reply);
  /* One round trip on a fresh connection. */
  bool   (*oneshot)    (const char *address, const uint8_t *msg, size_t len, uint8_t *reply);
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
