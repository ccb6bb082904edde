// SPDX-License-Identifier: GPL-2.0-or-later
/* The internet checksum (RFC 1071) of the packets restart forges: TCP in
 * sock_tcp_forge.c, UDP in sock_dgram_queue.c. */
#pragma once
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>

/* Adds len bytes at p, as big-endian 16-bit words, to sum. */
static inline uint32_t csum_add(uint32_t sum, const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	return sum;
}

/* The checksum field (network order) for sum. A result of 0 is sent as
 * 0xffff: UDP must (0 there means "no checksum"), and for TCP the two are
 * the same number in ones' complement, so the receiver's check passes
 * either way. */
static inline uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	return htons(sum ? (uint16_t)sum : 0xffff);
}
