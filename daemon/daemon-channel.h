/* SPDX-License-Identifier: MIT */
/*
 * daemon-channel.h: the daemon's few writes into a channel's control
 * memory (channel.c). fd is a read-write descriptor of NAME.ctl, ctl_size
 * the size the registry records for it. Each returns 0 (or a slot) or a
 * negative errno value: -EBADMSG when the header does not check (a
 * participant wrote it), -EIO when the memory cannot be mapped.
 */
#ifndef SHMV_DAEMON_CHANNEL_H
#define SHMV_DAEMON_CHANNEL_H

#include <stdint.h>
#include <sys/types.h>

/* Write the header of a new channel whose ring holds capacity bytes. */
int dchan_init(int fd, uint64_t capacity);

/* Give a participant a slot (CHAN_ROLE_* roles): its index, or -EUSERS
 * when every slot is taken. ring_size: the ring segment's size, which the
 * header must agree with. */
int dchan_register(int fd, uint64_t ctl_size, uint64_t ring_size, unsigned roles, pid_t pid,
                   uint64_t start);

/* The participant in slot ended (its lease on NAME.ctl did): a closed slot
 * becomes free, a live one dead (reclaimed by the next participant to take
 * the lock, woken here). Returns 1 when it was marked dead. */
int dchan_participant_gone(int fd, uint64_t ctl_size, uint32_t slot);

/* After a restart the daemon knows a participant only by the process that
 * registered it (the slot's pid and start time; bound: a bitmap of
 * CHAN_PARTS bits, the slots live leases already stand for, skipped).
 * dchan_find: the first live slot of (pid, start), for a lease that
 * process opens again on NAME.ctl, or -ENOENT; dchan_pid_gone: that
 * process is gone, mark its slots dead (returns how many). */
int dchan_find(int fd, uint64_t ctl_size, pid_t pid, uint64_t start, const uint8_t *bound);
int dchan_pid_gone(int fd, uint64_t ctl_size, pid_t pid, uint64_t start, const uint8_t *bound);

/* The counts stat shows (0 where the memory does not check). */
int dchan_counts(int fd, uint64_t ctl_size, uint64_t *depth, uint32_t *senders,
                 uint32_t *receivers);

#endif
