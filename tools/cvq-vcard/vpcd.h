/* The vpcd transport: TCP to pcscd's vpcd driver, 2-byte length framing. */
#ifndef CVQ_VCARD_VPCD_H
#define CVQ_VCARD_VPCD_H

#include <stddef.h>
#include <stdint.h>

/* vpcd control messages (1 byte). */
#define VPCD_POWER_OFF 0x00
#define VPCD_POWER_ON  0x01
#define VPCD_RESET     0x02
#define VPCD_GET_ATR   0x04

#define VPCD_MSG_MAX 65535

/* Connect to vpcd; returns a socket or -1 (vpcd absent, try later). */
int vc_vpcd_connect(const char *host, const char *port);
/* Read one message into buf[0..VPCD_MSG_MAX); -1 on EOF or error. */
int vc_vpcd_recv(int fd, uint8_t *buf, size_t *len);
int vc_vpcd_send(int fd, const uint8_t *buf, size_t len);

#endif
