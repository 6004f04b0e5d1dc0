import Dispatch
import Glibc
import Synchronization

/// A small HTTP/1.1 server on POSIX sockets: one thread accepts, each connection gets a
/// thread of its own (a serial dispatch queue: those overcommit, so a connection waiting for
/// the model never starves another of a thread), with keep-alive and limits on how many
/// connections, how long a client may idle and how big a request may be.
public final class HTTPServer: Sendable {
    /// How much the server gives each client and all of them together.
    public struct Limits: Sendable {
        /// Connections served at once; one more is answered 503 and closed.
        public var connections = 64
        /// Seconds a connection may wait between requests, or take to send one.
        public var idleSeconds = 30
        /// Seconds a response write may block on a client that stops reading.
        public var sendSeconds = 30
        /// The request size limits.
        public var parser = HTTPParser()

        /// 64 connections, 30-second idle and send timeouts, and the parser's default sizes.
        public init() {}
    }

    /// Why the server could not listen (a bad address, a port in use); the message says which.
    public struct StartError: Error, CustomStringConvertible {
        public let description: String
    }

    private let listener: Int32
    /// The port bound (the one asked for, or the one the system chose for port 0).
    public let port: Int
    /// The limits it serves under.
    public let limits: Limits
    private let open = Atomic<Int>(0)

    /// Binds `host:port` (an IPv4 address; "localhost" is 127.0.0.1) and listens.
    public init(host: String, port: Int, limits: Limits = Limits()) throws(StartError) {
        let address = host == "localhost" ? "127.0.0.1" : host
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        guard (0...65535).contains(port), inet_pton(AF_INET, address, &addr.sin_addr) == 1 else {
            throw StartError(description: "cannot listen on \(host):\(port): not an IPv4 address and port")
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw StartError(description: "cannot create a socket: \(String(cString: strerror(errno)))") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 128) == 0 else {
            let why = String(cString: strerror(errno))
            close(fd)
            throw StartError(description: "cannot listen on \(host):\(port): \(why)")
        }
        var actual = sockaddr_in(), length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        self.port = Int(UInt16(bigEndian: actual.sin_port))
        self.limits = limits
    }

    deinit { close(listener) }

    /// Accepts connections until `shouldStop` says so (checked every 200 ms), handing each
    /// request to `handle`, which answers it through the `Exchange`.
    public func run(shouldStop: @escaping @Sendable () -> Bool, handle: @escaping @Sendable (HTTPRequest, Exchange) -> Void) {
        while !shouldStop() {
            var request = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&request, 1, 200) > 0 else { continue }
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { continue }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            let connection = Connection(fd: fd)
            connection.setSendTimeout(seconds: limits.sendSeconds)
            guard open.add(1, ordering: .relaxed).newValue <= limits.connections else {
                open.subtract(1, ordering: .relaxed)
                connection.write(HTTPResponse.json(503, APIError.busy.body).bytes(keepAlive: false))
                continue
            }
            DispatchQueue(label: "recycle.connection").async { [self] in
                serve(connection, shouldStop: shouldStop, handle: handle)
                open.subtract(1, ordering: .relaxed)
            }
        }
    }

    /// Reads requests from one connection and answers them in order, until the client
    /// closes, idles too long, sends something malformed or asks to close.
    private func serve(_ connection: Connection, shouldStop: () -> Bool, handle: (HTTPRequest, Exchange) -> Void) {
        var waited = 0
        while !shouldStop() {
            let parsed: (request: HTTPRequest, consumed: Int)?
            do { parsed = try limits.parser.parse(connection.buffer[...]) } catch {
                connection.write(HTTPResponse.json(error.status, APIError(error.status, error.message).body).bytes(keepAlive: false))
                return
            }
            guard let (request, consumed) = parsed else {
                switch connection.read(timeout: 200) {
                case .data: waited = 0
                case .timedOut:
                    waited += 200
                    if waited >= limits.idleSeconds * 1000 {
                        if !connection.buffer.isEmpty {
                            connection.write(HTTPResponse.json(408, APIError(408, "the request took too long to arrive").body)
                                .bytes(keepAlive: false))
                        }
                        return
                    }
                case .closed, .failed: return
                }
                continue
            }
            connection.buffer.removeFirst(consumed)
            let exchange = Exchange(connection: connection, keepAlive: request.keepAlive)
            handle(request, exchange)
            guard exchange.keepAlive else { return }
        }
    }
}

/// One request's way back to its client: a whole response, or a stream of server-sent
/// events. Whether the connection can stay open afterwards is kept here: a failed write, a
/// client that asked to close, or a stream cut short all end it.
///
/// Invariant for `@unchecked Sendable`: used by one thread at a time (see `Connection`).
public final class Exchange: @unchecked Sendable {
    let connection: Connection
    private(set) var keepAlive: Bool
    /// A write failed: the client is gone, nothing more is sent.
    private var failed = false

    init(connection: Connection, keepAlive: Bool) {
        self.connection = connection
        self.keepAlive = keepAlive
    }

    /// Whether the client has gone away (then nothing it asked for is worth finishing).
    public var clientGone: Bool { failed || connection.peerGone }

    func respond(_ response: HTTPResponse) { send(response.bytes(keepAlive: keepAlive)) }

    /// Starts a `text/event-stream` response.
    @discardableResult
    func beginEvents() -> Bool {
        let head = HTTPResponse(status: 200, headers: [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")])
        return send(head.streamHead(keepAlive: keepAlive))
    }

    /// One event: `data: <data>` and a blank line. False if the client is gone.
    @discardableResult
    func event(_ data: [UInt8]) -> Bool { send(HTTPResponse.chunk(Array("data: ".utf8) + data + [10, 10])) }

    func endEvents() { send(HTTPResponse.lastChunk) }

    @discardableResult
    private func send(_ bytes: [UInt8]) -> Bool {
        guard !failed else { return false }
        if connection.write(bytes) { return true }
        failed = true
        keepAlive = false
        return false
    }
}
