import Glibc

/// One client's socket: reads with a deadline, writes that report a closed peer instead of
/// raising SIGPIPE, and a cheap check whether the client has gone away.
///
/// Invariant for `@unchecked Sendable`: a connection is used by one thread at a time (its
/// connection thread, or the generation worker while it serves that connection's request,
/// which the connection thread waits for); only `close` ends it, once.
final class Connection: @unchecked Sendable {
    let fd: Int32
    /// Bytes received and not yet parsed into a request (pipelined requests wait here).
    var buffer: [UInt8] = []

    init(fd: Int32) { self.fd = fd }

    /// Linux's POLLRDHUP (the peer closed its end), which Glibc's module leaves out because
    /// it is a GNU extension.
    static let pollReadHangUp: Int16 = 0x2000

    deinit { close(fd) }

    enum ReadResult { case data, closed, timedOut, failed }

    /// Waits up to `milliseconds` for bytes and appends them to `buffer`.
    func read(timeout milliseconds: Int32) -> ReadResult {
        var request = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&request, 1, milliseconds)
        if ready == 0 { return .timedOut }
        if ready < 0 { return errno == EINTR ? .data : .failed }
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n > 0 {
            buffer += chunk[..<n]
            return .data
        }
        if n < 0 && (errno == EINTR || errno == EAGAIN) { return .data }
        return n == 0 ? .closed : .failed
    }

    /// Sends all of `bytes`; false if the client is gone (or the send timed out).
    @discardableResult
    func write(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            sent += n
        }
        return true
    }

    /// Whether the client has closed its end (or reset it): a request it can no longer read
    /// is not worth finishing. Costs one `poll` and, if something arrived, a peek.
    var peerGone: Bool {
        var request = pollfd(fd: fd, events: Int16(POLLIN) | Self.pollReadHangUp, revents: 0)
        guard poll(&request, 1, 0) > 0 else { return false }
        if request.revents & (Int16(POLLHUP) | Int16(POLLERR) | Self.pollReadHangUp) != 0 { return true }
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) == 0
    }

    /// Sets how long a `send` may block (a client that stops reading must not hold the
    /// generation forever).
    func setSendTimeout(seconds: Int) {
        var limit = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    }
}
