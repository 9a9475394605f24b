#include "comfysim/py_format.h"

#include <gtest/gtest.h>

namespace tollgate::comfysim {
namespace {

TEST(PyFormatTest, FloatsPrintLikePythonRepr) {
    EXPECT_EQ(py_str(Json(8.0)), "8.0");
    EXPECT_EQ(py_str(Json(0.5)), "0.5");
    EXPECT_EQ(py_str(Json(-0.5)), "-0.5");
    EXPECT_EQ(py_str(Json(0.01)), "0.01");
    EXPECT_EQ(py_str(Json(0.0001)), "0.0001");
    EXPECT_EQ(py_str(Json(1e-05)), "1e-05");
    EXPECT_EQ(py_str(Json(1.5e-07)), "1.5e-07");
    EXPECT_EQ(py_str(Json(1000.0)), "1000.0");
    EXPECT_EQ(py_str(Json(123.456)), "123.456");
    EXPECT_EQ(py_str(Json(1e15)), "1000000000000000.0");
    EXPECT_EQ(py_str(Json(1e16)), "1e+16");
    EXPECT_EQ(py_str(Json(0.1 + 0.2)), "0.30000000000000004");
    EXPECT_EQ(py_str(Json(0.0)), "0.0");
}

TEST(PyFormatTest, ScalarsAndLists) {
    EXPECT_EQ(py_str(Json(8)), "8");
    EXPECT_EQ(py_str(Json("a")), "a");
    EXPECT_EQ(py_repr(Json("a")), "'a'");
    EXPECT_EQ(py_repr(Json("it's")), "\"it's\"");
    EXPECT_EQ(py_repr(Json(nullptr)), "None");
    EXPECT_EQ(py_repr(Json(true)), "True");
    EXPECT_EQ(py_repr(Json::array({"a", 1, 2.5})), "['a', 1, 2.5]");
}

}  // namespace
}  // namespace tollgate::comfysim
