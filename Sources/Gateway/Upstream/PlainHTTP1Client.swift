import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// Upstream calls to plain `http://` providers (self-hosted models, sidecars, local gateways — where the network
/// is fast enough for the gateway's own work to show) over keep-alive HTTP/1.1 connections kept per event loop:
/// a call runs on the loop its request task is on, with a connection of that loop, so nothing crosses threads.
/// Against AsyncHTTPClient it writes each request in one syscall instead of two and skips the pool's locks and
/// state machines (docs/PERFORMANCE.md, session 7). `https://` providers stay on AsyncHTTPClient (TLS, HTTP/2).
final class PlainHTTP1Client: Sendable {
    struct Target: Sendable {
        let host: String
        let port: Int
        /// Path and query, starting with `/`.
        let path: String
        let hostHeader: String
        /// Which pool its connections belong to.
        let poolKey: String

        /// Parses `http://host[:port][/path]`; nil for anything else (https, userinfo, malformed).
        init?(url: String) {
            guard url.hasPrefix("http://") else { return nil }
            let rest = url.dropFirst("http://".count)
            let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
            guard !authority.isEmpty, !authority.utf8.contains(UInt8(ascii: "@")) else { return nil }
            let path = rest.dropFirst(authority.count)
            var host = Substring(authority)
            var port = 80
            if host.hasPrefix("[") {
                // [v6]:port
                guard let close = host.firstIndex(of: "]") else { return nil }
                let after = host[host.index(after: close)...]
                if after.hasPrefix(":") {
                    guard let parsed = Int(after.dropFirst()), (1...65535).contains(parsed) else { return nil }
                    port = parsed
                } else if !after.isEmpty {
                    return nil
                }
                host = host[host.index(after: host.startIndex)..<close]
            } else if let colon = host.lastIndex(of: ":") {
                guard let parsed = Int(host[host.index(after: colon)...]), (1...65535).contains(parsed) else { return nil }
                port = parsed
                host = host[..<colon]
            }
            guard !host.isEmpty, !path.utf8.contains(UInt8(ascii: "#")) else { return nil }
            self.host = String(host)
            self.port = port
            self.path = path.isEmpty ? "/" : (path.hasPrefix("/") ? String(path) : "/" + path)
            self.hostHeader = String(authority)
            self.poolKey = "\(host):\(port)"
        }
    }

    /// Idle connections of one event loop, touched only on that loop. Each upstream's list is an object of its
    /// own, so taking and returning a connection is a dictionary read: changing an array inside the dictionary
    /// went through its `modify` accessors, three allocations per call (PERFORMANCE.md, session 16).
    private final class Pool {
        var idle: [String: IdleConnections] = [:]
        var sweeper: RepeatedTask?

        /// Closes connections idle for longer than `limit`.
        func sweep(olderThan limit: TimeAmount) {
            let cutoff = NIODeadline.now() - limit
            for (key, list) in idle {
                let connections = list.entries
                let (stale, fresh) = (connections.filter { $0.since < cutoff }, connections.filter { $0.since >= cutoff && $0.exchange.isUsable })
                for connection in stale { connection.exchange.close() }
                list.entries = fresh
                if fresh.isEmpty { idle[key] = nil }
            }
        }
    }

    /// One upstream's idle connections on one loop; the most recently used last.
    private final class IdleConnections {
        var entries: [(exchange: PlainHTTP1Exchange, since: NIODeadline)] = []
    }

    private let pools: [ObjectIdentifier: NIOLoopBoundBox<Pool>]
    private let loops: [any EventLoop]
    /// Idle connections kept per loop and upstream; more are closed when they come back. As many as a busy
    /// instance has calls in flight, so a steady load reuses connections instead of opening and closing them.
    static let maxIdlePerTarget = 2048
    /// Idle connections older than `idleTimeout` are closed, swept every `sweepInterval`.
    private let idleTimeout: TimeAmount

    init(group: MultiThreadedEventLoopGroup = .singleton, idleTimeout: TimeAmount = .seconds(60), sweepInterval: TimeAmount = .seconds(15)) {
        self.idleTimeout = idleTimeout
        let loops = Array(group.makeIterator())
        var pools: [ObjectIdentifier: NIOLoopBoundBox<Pool>] = [:]
        for loop in loops { pools[ObjectIdentifier(loop)] = .makeBoxSendingValue(Pool(), eventLoop: loop) }
        self.pools = pools
        self.loops = loops
        for loop in loops {
            guard let pool = pools[ObjectIdentifier(loop)] else { continue }
            loop.execute {
                pool.value.sweeper = loop.scheduleRepeatedTask(initialDelay: sweepInterval, delay: sweepInterval) { _ in
                    pool.value.sweep(olderThan: idleTimeout)
                }
            }
        }
    }

    /// Sends the request and returns once the response head has arrived (within `firstByteTimeout`); the body
    /// then streams, each read within `readTimeout` of the last. With `gatherUpTo`, returns once the whole body
    /// (at most that many bytes, else `responseTooLarge`) has arrived instead.
    func execute(
        _ target: Target, method: HTTPMethod, headers: HTTPHeaders, body: ByteBuffer, connectTimeout: TimeAmount, firstByteTimeout: TimeAmount,
        readTimeout: TimeAmount, gatherUpTo: Int? = nil
    ) async throws -> PlainHTTP1Response {
        guard Self.areValid(headers) else { throw PlainHTTP1Error.invalidRequestHeader }
        var headers = headers
        headers.replaceOrAdd(name: "host", value: target.hostHeader)
        headers.replaceOrAdd(name: "content-length", value: String(body.readableBytes))
        let head = UpstreamRequestWire(method: method, path: target.path, headers: headers)
        let call = Call(
            head: head, body: body, target: target, connectTimeout: connectTimeout, firstByteTimeout: firstByteTimeout, readTimeout: readTimeout,
            gatherUpTo: gatherUpTo
        )
        // A caller off the group's loops (not the server, whose tasks run on them) gets the loop its upstream hashes
        // to, so its calls to one upstream share one pool.
        let loop = MultiThreadedEventLoopGroup.currentEventLoop.flatMap { pools[ObjectIdentifier($0)] != nil ? $0 : nil }
            ?? loops[Int(UInt(bitPattern: call.target.poolKey.hashValue) % UInt(loops.count))]
        do {
            return try await attempt(call, on: loop, reuse: true)
        } catch PlainHTTP1Error.closedBeforeResponse(reused: true) {
            // The server closed a pooled connection as we used it; it never answered, so a new connection may.
            return try await attempt(call, on: loop, reuse: false)
        }
    }

    /// What NIO's outbound header validation checks: names are tokens, values hold no control characters but tab
    /// (a CR or LF in a configured header or key would otherwise split the request).
    static func areValid(_ headers: HTTPHeaders) -> Bool {
        headers.allSatisfy { name, value in
            !name.isEmpty && name.utf8.allSatisfy(isTokenByte) && value.utf8.allSatisfy { $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }
        }
    }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"): true
        default: "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    private struct Call: Sendable {
        let head: UpstreamRequestWire
        let body: ByteBuffer
        let target: Target
        let connectTimeout: TimeAmount
        let firstByteTimeout: TimeAmount
        let readTimeout: TimeAmount
        let gatherUpTo: Int?
    }

    /// Where a call is when its task is cancelled: not yet sending, or sending on this connection.
    private enum Progress {
        case waiting
        case sending(NIOLoopBound<PlainHTTP1Exchange>)
        case cancelled
    }

    private func attempt(_ call: Call, on loop: any EventLoop, reuse: Bool) async throws -> PlainHTTP1Response {
        let progress = NIOLockedValueBox(Progress.waiting)
        // The server's tasks run on the loop: send from here rather than queue a task for the loop's next tick.
        let future = loop.inEventLoop ? send(call, on: loop, reuse: reuse, progress: progress) : loop.flatSubmit {
            self.send(call, on: loop, reuse: reuse, progress: progress)
        }
        return try await withTaskCancellationHandler {
            try await future.get()
        } onCancel: {
            let previous = progress.withLockedValue { progress in
                defer { progress = .cancelled }
                return progress
            }
            if case .sending(let exchange) = previous { loop.execute { exchange.value.cancel() } }
        }
    }

    /// On the loop: sends the call on an idle connection at once — the usual case, with no future to wait on — or
    /// once a new connection is ready.
    private func send(
        _ call: Call, on loop: any EventLoop, reuse: Bool, progress: NIOLockedValueBox<Progress>
    ) -> EventLoopFuture<PlainHTTP1Response> {
        let promise = loop.makePromise(of: PlainHTTP1Response.self)
        if reuse, let exchange = idleConnection(call.target.poolKey, on: loop) {
            start(call, on: NIOLoopBound(exchange, eventLoop: loop), progress: progress, promise: promise)
        } else {
            newConnection(for: call, on: loop).whenComplete { result in
                switch result {
                case .success(let bound): self.start(call, on: bound, progress: progress, promise: promise)
                case .failure(let error): promise.fail(error)
                }
            }
        }
        return promise.futureResult
    }

    /// Starts the call on the connection unless it was cancelled meanwhile (then the connection goes back).
    private func start(
        _ call: Call, on bound: NIOLoopBound<PlainHTTP1Exchange>, progress: NIOLockedValueBox<Progress>,
        promise: EventLoopPromise<PlainHTTP1Response>
    ) {
        let proceed = progress.withLockedValue { progress in
            guard case .waiting = progress else { return false }
            progress = .sending(bound)
            return true
        }
        guard proceed else {
            promise.fail(PlainHTTP1Error.cancelled)
            checkIn(bound.value, key: call.target.poolKey, on: bound.eventLoop)
            return
        }
        bound.value.start(
            call.head, body: call.body, firstByteTimeout: call.firstByteTimeout, readTimeout: call.readTimeout, gatherUpTo: call.gatherUpTo,
            promise: promise
        )
    }

    /// A usable idle connection of this loop for the target (unusable ones found on the way are dropped).
    private func idleConnection(_ key: String, on loop: any EventLoop) -> PlainHTTP1Exchange? {
        guard let list = pools[ObjectIdentifier(loop)]?.value.idle[key] else { return nil }
        while let exchange = list.entries.popLast()?.exchange {
            if exchange.isUsable { return exchange }
        }
        return nil
    }

    /// A new connection of this loop to the call's target.
    private func newConnection(for call: Call, on loop: any EventLoop) -> EventLoopFuture<NIOLoopBound<PlainHTTP1Exchange>> {
        let key = call.target.poolKey
        return ClientBootstrap(group: loop)
            .connectTimeout(call.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Requests go out as bytes (`UpstreamRequestWire`, headers checked once per call in `execute`) and
                    // responses are parsed in the exchange (`UpstreamResponseParser`): one handler, no codec.
                    try channel.pipeline.syncOperations.addHandler(PlainHTTP1Exchange { [weak self] exchange in
                        self?.checkIn(exchange, key: key, on: channel.eventLoop)
                    })
                }
            }
            .connect(host: call.target.host, port: call.target.port)
            .flatMapErrorThrowing { error in
                if case ChannelError.connectTimeout = error { throw PlainHTTP1Error.connectTimeout }
                throw error
            }
            .flatMapThrowing { channel in
                NIOLoopBound(try channel.pipeline.syncOperations.handler(type: PlainHTTP1Exchange.self), eventLoop: loop)
            }
    }

    private func checkIn(_ exchange: PlainHTTP1Exchange, key: String, on loop: any EventLoop) {
        guard let pool = pools[ObjectIdentifier(loop)]?.value, exchange.isUsable else { return }
        let list: IdleConnections
        if let known = pool.idle[key] {
            list = known
        } else {
            list = IdleConnections()
            pool.idle[key] = list
        }
        if list.entries.count < Self.maxIdlePerTarget {
            list.entries.append((exchange, .now()))
        } else {
            exchange.close()
        }
    }

    /// Closes every idle connection (shutdown).
    func shutdown() async {
        for loop in loops {
            guard let pool = pools[ObjectIdentifier(loop)] else { continue }
            try? await loop.submit {
                pool.value.sweeper?.cancel()
                for connection in pool.value.idle.values.flatMap(\.entries) { connection.exchange.close() }
                pool.value.idle = [:]
            }.get()
        }
    }
}
