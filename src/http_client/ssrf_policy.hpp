#pragma once
// SSRF policy: which IP addresses an outbound request may connect to. User-defined URLs (module requests,
// app definitions, webhooks) must not reach the host's own services, the private network or the cloud
// metadata endpoint (169.254.169.254). CurlHttpClient checks the address of every socket it opens, after DNS
// resolution, so a name that resolves (or re-resolves: DNS rebinding) to a refused address is still refused.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/error.hpp"

struct sockaddr;

namespace switchboard::http_client {

enum class AddressClass {
    kPublic,
    kUnspecified,         // 0.0.0.0, ::
    kLoopback,            // 127.0.0.0/8, ::1
    kPrivate,             // 10/8, 172.16/12, 192.168/16, fc00::/7, fec0::/10, 64:ff9b:1::/48
    kLinkLocal,           // 169.254/16 (incl. the metadata address), fe80::/10
    kSharedAddressSpace,  // 100.64/10 (carrier-grade NAT)
    kMulticast,           // 224/4, ff00::/8
    kBroadcast,           // 255.255.255.255
    kReserved,            // 0/8, 240/4, documentation, benchmarking, IETF, Teredo, IPv4-compatible, unallocated v6
};

std::string_view AddressClassName(AddressClass address_class);

// ipv4 is in network order as four bytes (a.b.c.d = {a, b, c, d}).
AddressClass ClassifyIpv4(const std::array<std::uint8_t, 4>& ipv4);
// IPv4-mapped (::ffff:a.b.c.d), IPv4-translated, NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses are
// classified by the IPv4 address they carry.
AddressClass ClassifyIpv6(const std::array<std::uint8_t, 16>& ipv6);
// Parses an IPv4 dotted quad or an IPv6 address (an optional %zone suffix is ignored); nullopt when the text
// is not an IP address.
std::optional<AddressClass> ClassifyAddress(std::string_view ip_text);

class SsrfPolicy {
  public:
    explicit SsrfPolicy(bool allow_private_network) : allow_private_network_(allow_private_network) {}

    bool allow_private_network() const { return allow_private_network_; }

    // kPermissionDenied when ip_text is not a public address and private networks are not allowed (the
    // message names the address and its class); kInvalidArgument when ip_text is not an IP address.
    core::Result<void> CheckAddress(std::string_view ip_text) const;
    // The same check for a socket about to connect to `address` (as resolved: what will actually be used). A
    // socket that is not IPv4 or IPv6 is refused unless private networks are allowed. kPermissionDenied whose
    // detail is the reason.
    core::Result<void> CheckSocketAddress(const sockaddr* address, std::size_t length) const;

  private:
    bool allow_private_network_;
};

}  // namespace switchboard::http_client
