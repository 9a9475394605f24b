// Which addresses the gateway may call on a client's behalf.
//
// A webhook URL is the client's choice, so without a rule a client could make
// the gateway POST to what only the gateway can reach: a ComfyUI worker on
// the private network (POST /queue {"clear": true}, /interrupt), the
// gateway's own admin port, or a cloud metadata service. The rule applies to
// every address the host resolves to, at each delivery, so a name that
// resolved to a public address when the job was submitted cannot be
// re-pointed (DNS rebinding) at an internal one later. Pure; any thread.
#pragma once

#include <string_view>

namespace tollgate::http {

// True for a unicast address of the public internet. False for loopback
// (127/8, ::1), "this network" (0/8, ::), private (10/8, 172.16/12,
// 192.168/16, fc00::/7), shared CGNAT (100.64/10), link-local (169.254/16,
// fe80::/10: cloud metadata lives there), benchmarking (198.18/15),
// documentation and reserved ranges (192.0.0/24, 192.0.2/24, 198.51.100/24,
// 203.0.113/24, 240/4, 2001:db8::/32), multicast and broadcast, for IPv4
// mapped or translated into IPv6 (::ffff:0:0/96, 64:ff9b::/96) as for the
// plain IPv4 address, and for anything that does not parse as an address.
bool is_public_address(std::string_view ip);

}  // namespace tollgate::http
