// The single translation unit that compiles Asio's and Beast's implementation
// (BOOST_*_SEPARATE_COMPILATION). Everything else includes only declarations.
// <utility> must come first: Boost 1.74's awaitable.hpp uses std::exchange.
// clang-format off
#include <utility>
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
// clang-format on
