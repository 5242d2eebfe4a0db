#include "http_client/ssrf_policy.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <string>

namespace switchboard::http_client {
namespace {

struct Case {
    const char* address;
    AddressClass expected;
};

constexpr Case kCases[] = {
    // IPv4
    {"8.8.8.8", AddressClass::kPublic},
    {"1.1.1.1", AddressClass::kPublic},
    {"93.184.216.34", AddressClass::kPublic},
    {"0.0.0.0", AddressClass::kUnspecified},
    {"0.1.2.3", AddressClass::kReserved},
    {"127.0.0.1", AddressClass::kLoopback},
    {"127.255.255.254", AddressClass::kLoopback},
    {"10.0.0.1", AddressClass::kPrivate},
    {"10.255.255.255", AddressClass::kPrivate},
    {"11.0.0.1", AddressClass::kPublic},
    {"172.15.255.255", AddressClass::kPublic},
    {"172.16.0.1", AddressClass::kPrivate},
    {"172.31.255.255", AddressClass::kPrivate},
    {"172.32.0.0", AddressClass::kPublic},
    {"192.168.1.1", AddressClass::kPrivate},
    {"192.169.0.1", AddressClass::kPublic},
    {"169.254.169.254", AddressClass::kLinkLocal},  // cloud metadata
    {"169.254.0.1", AddressClass::kLinkLocal},
    {"100.63.255.255", AddressClass::kPublic},
    {"100.64.0.1", AddressClass::kSharedAddressSpace},
    {"100.127.255.255", AddressClass::kSharedAddressSpace},
    {"100.128.0.0", AddressClass::kPublic},
    {"224.0.0.1", AddressClass::kMulticast},
    {"239.255.255.250", AddressClass::kMulticast},
    {"255.255.255.255", AddressClass::kBroadcast},
    {"240.0.0.1", AddressClass::kReserved},
    {"192.0.0.8", AddressClass::kReserved},
    {"192.0.2.10", AddressClass::kReserved},
    {"198.18.0.1", AddressClass::kReserved},
    {"198.51.100.7", AddressClass::kReserved},
    {"203.0.113.9", AddressClass::kReserved},
    // IPv6
    {"::", AddressClass::kUnspecified},
    {"::1", AddressClass::kLoopback},
    {"2001:4860:4860::8888", AddressClass::kPublic},
    {"2606:4700:4700::1111", AddressClass::kPublic},
    {"fc00::1", AddressClass::kPrivate},
    {"fd12:3456:789a::1", AddressClass::kPrivate},
    {"fe80::1", AddressClass::kLinkLocal},
    {"fe80::1%eth0", AddressClass::kLinkLocal},
    {"febf::1", AddressClass::kLinkLocal},
    {"fec0::1", AddressClass::kPrivate},
    {"ff02::1", AddressClass::kMulticast},
    {"2001:db8::1", AddressClass::kReserved},
    {"2001::1", AddressClass::kReserved},  // Teredo
    {"100::1", AddressClass::kReserved},   // discard
    {"4000::1", AddressClass::kReserved},  // outside 2000::/3
    // IPv4 inside IPv6: classified by the IPv4 address
    {"::ffff:127.0.0.1", AddressClass::kLoopback},
    {"::ffff:7f00:1", AddressClass::kLoopback},
    {"::ffff:10.1.2.3", AddressClass::kPrivate},
    {"::ffff:169.254.169.254", AddressClass::kLinkLocal},
    {"::ffff:0.0.0.0", AddressClass::kUnspecified},
    {"::ffff:100.64.1.1", AddressClass::kSharedAddressSpace},
    {"::ffff:8.8.8.8", AddressClass::kPublic},
    {"::ffff:0:192.168.0.1", AddressClass::kPrivate},  // IPv4-translated
    {"::127.0.0.1", AddressClass::kReserved},          // deprecated IPv4-compatible
    {"64:ff9b::7f00:1", AddressClass::kLoopback},      // NAT64 of 127.0.0.1
    {"64:ff9b::808:808", AddressClass::kPublic},       // NAT64 of 8.8.8.8
    {"64:ff9b:1::1", AddressClass::kPrivate},
    {"2002:7f00:1::1", AddressClass::kLoopback},  // 6to4 of 127.0.0.1
    {"2002:c0a8:101::1", AddressClass::kPrivate},
    {"2002:808:808::1", AddressClass::kPublic},
};

TEST(SsrfPolicyTest, ClassifiesAddressesByTable) {
    for (const Case& c : kCases) {
        const auto actual = ClassifyAddress(c.address);
        ASSERT_TRUE(actual.has_value()) << c.address;
        EXPECT_EQ(AddressClassName(*actual), AddressClassName(c.expected)) << c.address;
    }
}

TEST(SsrfPolicyTest, RejectsTextThatIsNotAnAddress) {
    for (const char* text : {"", "localhost", "example.com", "127.0.0.1.nip.io", "1.2.3", "::g", "[::1]", "%eth0"}) {
        EXPECT_FALSE(ClassifyAddress(text).has_value()) << text;
    }
}

TEST(SsrfPolicyTest, RefusesEveryNonPublicAddressUnlessPrivateNetworksAreAllowed) {
    const SsrfPolicy strict(false);
    const SsrfPolicy open(true);
    for (const Case& c : kCases) {
        const auto strict_result = strict.CheckAddress(c.address);
        EXPECT_TRUE(open.CheckAddress(c.address).has_value()) << c.address;
        if (c.expected == AddressClass::kPublic) {
            EXPECT_TRUE(strict_result.has_value()) << c.address;
            continue;
        }
        ASSERT_FALSE(strict_result.has_value()) << c.address;
        EXPECT_EQ(strict_result.error().code, core::Errc::kPermissionDenied) << c.address;
        EXPECT_NE(strict_result.error().detail.find(AddressClassName(c.expected)), std::string::npos)
            << strict_result.error().detail;
        EXPECT_NE(strict_result.error().detail.find("--allow-private-network"), std::string::npos);
    }
}

TEST(SsrfPolicyTest, CheckOfSomethingThatIsNotAnAddressIsInvalidArgument) {
    const auto result = SsrfPolicy(false).CheckAddress("localhost");
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code, core::Errc::kInvalidArgument);
}

// The check both transports run on every socket they are about to connect, on the resolved address.
TEST(SsrfPolicyTest, SocketAddressesAreCheckedLikeTheirText) {
    sockaddr_in v4{};
    v4.sin_family = AF_INET;
    ASSERT_EQ(inet_pton(AF_INET, "127.0.0.1", &v4.sin_addr), 1);
    sockaddr_in6 v6{};
    v6.sin6_family = AF_INET6;
    ASSERT_EQ(inet_pton(AF_INET6, "2606:4700::1111", &v6.sin6_addr), 1);
    sockaddr_un local{};
    local.sun_family = AF_UNIX;
    const auto* v4_address = reinterpret_cast<const sockaddr*>(&v4);
    const auto* v6_address = reinterpret_cast<const sockaddr*>(&v6);
    const auto* local_address = reinterpret_cast<const sockaddr*>(&local);

    const SsrfPolicy strict(false);
    const auto loopback = strict.CheckSocketAddress(v4_address, sizeof v4);
    ASSERT_FALSE(loopback.has_value());
    EXPECT_EQ(loopback.error().code, core::Errc::kPermissionDenied);
    EXPECT_NE(loopback.error().detail.find("127.0.0.1"), std::string::npos) << loopback.error().detail;
    EXPECT_TRUE(strict.CheckSocketAddress(v6_address, sizeof v6).has_value());
    const auto unix_socket = strict.CheckSocketAddress(local_address, sizeof local);
    ASSERT_FALSE(unix_socket.has_value());
    EXPECT_EQ(unix_socket.error().detail, "refused to open a socket that is not an IP connection");
    // A length too short for the family is not read as an address.
    EXPECT_FALSE(strict.CheckSocketAddress(v6_address, sizeof v4).has_value());

    const SsrfPolicy open(true);
    EXPECT_TRUE(open.CheckSocketAddress(v4_address, sizeof v4).has_value());
    EXPECT_TRUE(open.CheckSocketAddress(local_address, sizeof local).has_value());
}

}  // namespace
}  // namespace switchboard::http_client
