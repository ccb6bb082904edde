# SPDX-License-Identifier: GPL-2.0-or-later
# The Debian package: `cmake --build build --target package` writes
# build/ckptd_<version>_<arch>.deb with whatever the install rules put in
# place (binaries, libraries, headers, units, man pages, completion,
# configuration), installed under /usr whatever CMAKE_INSTALL_PREFIX says.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ckptd)
set(CPACK_PACKAGE_VENDOR "ckptd")
set(CPACK_PACKAGE_CONTACT "ckptd maintainers <ckptd@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "checkpoint/restart daemon for process containers")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
  "ckptd runs process trees in containers of their own and checkpoints them\n\
into images from which they restart on a stock kernel: every process at its\n\
pid, with its memory, files, sockets and signals. ckptctl is its client.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://localhost/ckptd")
# Shared library dependencies come from dpkg-shlibdeps; the rest is what
# the maintainer scripts run (addgroup) and libcrypto, which the programs
# open at run time (common/mac.c) and dpkg-shlibdeps cannot see.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, libssl3 (>= 3.0.0)")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# conffiles lists every file the package holds under /etc; it is written
# once the files are staged (conffiles.cmake), since other install rules
# decide what goes there.
set(CKPT_CONFFILES ${CMAKE_BINARY_DIR}/packaging/conffiles)
file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/packaging)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${CMAKE_CURRENT_LIST_DIR}/postinst ${CMAKE_CURRENT_LIST_DIR}/prerm
  ${CMAKE_CURRENT_LIST_DIR}/postrm ${CKPT_CONFFILES})
set(CPACK_PRE_BUILD_SCRIPTS ${CMAKE_CURRENT_LIST_DIR}/conffiles.cmake)
set(CPACK_CKPT_CONFFILES ${CKPT_CONFFILES})
include(CPack)
