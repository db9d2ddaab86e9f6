# cmake/packaging.cmake: CPack settings for the Debian package (`make deb`). Included at
# the end of the top-level CMakeLists.txt so every install rule is known. Builds one
# package "arrangd" holding the daemon, arrangctl, the systemd unit, sysusers.d and
# tmpfiles.d entries, man pages and docs. The maintainer scripts (systemd/debian/)
# create the user and directories and reload systemd; they never start or enable the
# service, because it cannot run before /etc/arrangd is configured.

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME arrangd)
set(CPACK_PACKAGE_VENDOR "arrangd project")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "peer-to-peer sync daemon for education-youth-care arrangements")
set(CPACK_PACKAGE_CONTACT "arrangd maintainers <arrangd@localhost>")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "arrangd maintainers <arrangd@localhost>")
# Synopsis from the summary; the extended description (dpkg indents it) from this.
set(CPACK_PACKAGE_DESCRIPTION "Each organisation runs arrangd with its own SQLite replica; daemons exchange
signed change sets over ZeroMQ (CURVE) and converge without a central server,
also after days offline. arrangctl queries and edits the local replica.

The package installs a hardened systemd unit, not enabled: see
/usr/share/doc/arrangd/operations.md to set up a region.")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://example.invalid/arrangd")

# The package is rooted at /usr, but the unit, sysusers.d and tmpfiles.d paths come
# from systemd.pc and are absolute (/lib/systemd/system on Debian 12): install through
# DESTDIR so they land inside the package, never on the build machine.
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)

# Runtime dependencies: computed by dpkg-shlibdeps from the binaries when it is
# available (it is part of dpkg-dev), so they follow the libraries actually linked.
# Otherwise the list below, checked with ldd on the built binaries.
find_program(DPKG_SHLIBDEPS dpkg-shlibdeps)
if(DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
  # Symbol versions cannot see what the code needs at run time: SQL features of SQLite
  # 3.35, CURVE/ZAP behaviour of ZeroMQ 4.3, libsodium 1.0.18 (the floors the top-level
  # CMakeLists.txt builds against). CPack appends these to the computed list.
  set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libsqlite3-0 (>= 3.35), libzmq5 (>= 4.3.1), libsodium23 (>= 1.0.18)")
else()
  set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libc6 (>= 2.34), libzmq5 (>= 4.3.1), libsqlite3-0 (>= 3.35), libmsgpackc2 (>= 3.0), libuuid1 (>= 2.16), libsodium23 (>= 1.0.18), libsystemd0, libinih1 (>= 53)")
endif()
# systemd-sysusers and systemd-tmpfiles run from postinst.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd")

set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/systemd/debian/postinst
  ${PROJECT_SOURCE_DIR}/systemd/debian/prerm
  ${PROJECT_SOURCE_DIR}/systemd/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
