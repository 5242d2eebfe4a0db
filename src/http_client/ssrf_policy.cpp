#include "http_client/ssrf_policy.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <string>

namespace switchboard::http_client {

namespace {

bool InPrefix(const std::uint8_t* address, const std::uint8_t* prefix, int bits) {
    for (int i = 0; bits > 0; ++i, bits -= 8) {
        const int take = bits >= 8 ? 8 : bits;
        const auto mask = static_cast<std::uint8_t>(0xFF << (8 - take));
        if ((address[i] & mask) != (prefix[i] & mask)) return false;
    }
    return true;
}

struct Ipv4Range {
    std::array<std::uint8_t, 4> prefix;
    int bits;
    AddressClass address_class;
};

// Checked in order; the first match wins (0.0.0.0/32 before 0/8, 255.255.255.255 before 240/4).
constexpr Ipv4Range kIpv4Ranges[] = {
    {{0, 0, 0, 0}, 32, AddressClass::kUnspecified},
    {{0, 0, 0, 0}, 8, AddressClass::kReserved},  // "this network"
    {{10, 0, 0, 0}, 8, AddressClass::kPrivate},
    {{100, 64, 0, 0}, 10, AddressClass::kSharedAddressSpace},
    {{127, 0, 0, 0}, 8, AddressClass::kLoopback},
    {{169, 254, 0, 0}, 16, AddressClass::kLinkLocal},
    {{172, 16, 0, 0}, 12, AddressClass::kPrivate},
    {{192, 0, 0, 0}, 24, AddressClass::kReserved},    // IETF protocol assignments
    {{192, 0, 2, 0}, 24, AddressClass::kReserved},    // TEST-NET-1
    {{192, 88, 99, 0}, 24, AddressClass::kReserved},  // former 6to4 relay anycast
    {{192, 168, 0, 0}, 16, AddressClass::kPrivate},
    {{198, 18, 0, 0}, 15, AddressClass::kReserved},    // benchmarking
    {{198, 51, 100, 0}, 24, AddressClass::kReserved},  // TEST-NET-2
    {{203, 0, 113, 0}, 24, AddressClass::kReserved},   // TEST-NET-3
    {{224, 0, 0, 0}, 4, AddressClass::kMulticast},
    {{255, 255, 255, 255}, 32, AddressClass::kBroadcast},
    {{240, 0, 0, 0}, 4, AddressClass::kReserved},
};

std::array<std::uint8_t, 4> EmbeddedIpv4(const std::array<std::uint8_t, 16>& ipv6, std::size_t offset) {
    return {ipv6[offset], ipv6[offset + 1], ipv6[offset + 2], ipv6[offset + 3]};
}

}  // namespace

std::string_view AddressClassName(AddressClass address_class) {
    switch (address_class) {
        case AddressClass::kPublic:
            return "public";
        case AddressClass::kUnspecified:
            return "unspecified";
        case AddressClass::kLoopback:
            return "loopback";
        case AddressClass::kPrivate:
            return "private";
        case AddressClass::kLinkLocal:
            return "link-local";
        case AddressClass::kSharedAddressSpace:
            return "shared address space (CGNAT)";
        case AddressClass::kMulticast:
            return "multicast";
        case AddressClass::kBroadcast:
            return "broadcast";
        case AddressClass::kReserved:
            return "reserved";
    }
    return "unknown";
}

AddressClass ClassifyIpv4(const std::array<std::uint8_t, 4>& ipv4) {
    for (const Ipv4Range& range : kIpv4Ranges) {
        if (InPrefix(ipv4.data(), range.prefix.data(), range.bits)) return range.address_class;
    }
    return AddressClass::kPublic;
}

AddressClass ClassifyIpv6(const std::array<std::uint8_t, 16>& ipv6) {
    static constexpr std::uint8_t kZero[16] = {};
    static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    static constexpr std::uint8_t kTranslated[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0};
    static constexpr std::uint8_t kNat64[12] = {0, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0};
    static constexpr std::uint8_t kNat64Local[6] = {0, 0x64, 0xFF, 0x9B, 0, 1};
    static constexpr std::uint8_t kDiscard[8] = {0x01, 0, 0, 0, 0, 0, 0, 0};
    static constexpr std::uint8_t kTeredo[4] = {0x20, 0x01, 0, 0};
    static constexpr std::uint8_t kDocumentation[4] = {0x20, 0x01, 0x0D, 0xB8};
    static constexpr std::uint8_t k6to4[2] = {0x20, 0x02};
    static constexpr std::uint8_t kUniqueLocal[1] = {0xFC};
    static constexpr std::uint8_t kLinkLocal[2] = {0xFE, 0x80};
    static constexpr std::uint8_t kSiteLocal[2] = {0xFE, 0xC0};
    static constexpr std::uint8_t kMulticast[1] = {0xFF};
    static constexpr std::uint8_t kGlobalUnicast[1] = {0x20};

    const std::uint8_t* a = ipv6.data();
    if (InPrefix(a, kZero, 128)) return AddressClass::kUnspecified;
    if (InPrefix(a, kZero, 120) && a[15] == 1) return AddressClass::kLoopback;
    if (InPrefix(a, kMapped, 96)) return ClassifyIpv4(EmbeddedIpv4(ipv6, 12));
    if (InPrefix(a, kTranslated, 96)) return ClassifyIpv4(EmbeddedIpv4(ipv6, 12));
    if (InPrefix(a, kZero, 96)) return AddressClass::kReserved;  // deprecated IPv4-compatible ::a.b.c.d
    if (InPrefix(a, kNat64, 96)) return ClassifyIpv4(EmbeddedIpv4(ipv6, 12));
    if (InPrefix(a, kNat64Local, 48)) return AddressClass::kPrivate;
    if (InPrefix(a, kDiscard, 64)) return AddressClass::kReserved;
    if (InPrefix(a, kTeredo, 32)) return AddressClass::kReserved;
    if (InPrefix(a, kDocumentation, 32)) return AddressClass::kReserved;
    if (InPrefix(a, k6to4, 16)) return ClassifyIpv4(EmbeddedIpv4(ipv6, 2));
    if (InPrefix(a, kUniqueLocal, 7)) return AddressClass::kPrivate;
    if (InPrefix(a, kLinkLocal, 10)) return AddressClass::kLinkLocal;
    if (InPrefix(a, kSiteLocal, 10)) return AddressClass::kPrivate;
    if (InPrefix(a, kMulticast, 8)) return AddressClass::kMulticast;
    if (InPrefix(a, kGlobalUnicast, 3)) return AddressClass::kPublic;
    return AddressClass::kReserved;  // not allocated for unicast
}

std::optional<AddressClass> ClassifyAddress(std::string_view ip_text) {
    ip_text = ip_text.substr(0, ip_text.find('%'));
    if (ip_text.empty() || ip_text.size() > 64) return std::nullopt;
    const std::string text(ip_text);
    if (std::array<std::uint8_t, 4> v4{}; inet_pton(AF_INET, text.c_str(), v4.data()) == 1) {
        return ClassifyIpv4(v4);
    }
    if (std::array<std::uint8_t, 16> v6{}; inet_pton(AF_INET6, text.c_str(), v6.data()) == 1) {
        return ClassifyIpv6(v6);
    }
    return std::nullopt;
}

core::Result<void> SsrfPolicy::CheckSocketAddress(const sockaddr* address, std::size_t length) const {
    char text[INET6_ADDRSTRLEN] = {};
    bool converted = false;
    if (address->sa_family == AF_INET && length >= sizeof(sockaddr_in)) {
        sockaddr_in v4{};
        std::memcpy(&v4, address, sizeof v4);
        converted = inet_ntop(AF_INET, &v4.sin_addr, text, sizeof text) != nullptr;
    } else if (address->sa_family == AF_INET6 && length >= sizeof(sockaddr_in6)) {
        sockaddr_in6 v6{};
        std::memcpy(&v6, address, sizeof v6);
        converted = inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof text) != nullptr;
    }
    if (converted) return CheckAddress(text);
    if (allow_private_network_) return {};
    return core::PermissionDenied("refused to open a socket that is not an IP connection");
}

core::Result<void> SsrfPolicy::CheckAddress(std::string_view ip_text) const {
    const std::optional<AddressClass> address_class = ClassifyAddress(ip_text);
    if (!address_class) return core::InvalidArgument(fmt::format("'{}' is not an IP address", ip_text));
    if (*address_class == AddressClass::kPublic || allow_private_network_) return {};
    return core::PermissionDenied(
        fmt::format("refused to connect to {} ({} address): requests to private networks are disabled "
                    "(an operator can allow them with --allow-private-network)",
                    ip_text, AddressClassName(*address_class)));
}

}  // namespace switchboard::http_client
