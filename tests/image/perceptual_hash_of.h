// The perceptual hash of encoded image bytes, probed first; a failure is a
// test failure (and 0).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "image/perceptual_hash.h"
#include "image/probe.h"

namespace tollgate::image {

inline std::uint64_t hash_of(const std::string& bytes) {
    auto info = probe(bytes);
    EXPECT_TRUE(info.ok()) << info.error().message;
    if (!info.ok()) return 0;
    auto hash = perceptual_hash(bytes, *info);
    EXPECT_TRUE(hash.ok()) << hash.error().message;
    return hash.ok() ? *hash : 0;
}

}  // namespace tollgate::image
