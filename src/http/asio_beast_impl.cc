// The single translation unit that compiles Asio's and Beast's implementation
// (BOOST_*_SEPARATE_COMPILATION). Everything else includes only declarations.
#include <utility>

#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
