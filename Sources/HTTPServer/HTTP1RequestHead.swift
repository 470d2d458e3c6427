import HTTPTypes
import NIOHTTP1
import NIOHTTPTypesHTTP1

/// NIO's request head as HTTP types' `HTTPRequest`, as swift-nio-extras converts it (the first `Host` becomes the
/// authority; the other fields keep their order) but without its per-request costs for the usual request: the
/// target is taken as it is when it is a path (`/v1/...`) instead of going through `URLComponents`, and `Host` is
/// found without lowercasing every field name. Other targets (absolute-form, `*`) go through swift-nio-extras.
enum HTTP1RequestHead {
    static func request(_ head: HTTPRequestHead) -> HTTPRequest? {
        guard head.uri.utf8.first == UInt8(ascii: "/") else {
            return try? HTTPRequest(head, secure: false, splitCookie: false)
        }
        guard let method = HTTPRequest.Method(head.method.rawValue) else { return nil }
        var fields = HTTPFields()
        fields.reserveCapacity(head.headers.count)
        var authority: String?
        for (name, value) in head.headers {
            if authority == nil, isHost(name) {
                authority = value
                continue
            }
            if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
        }
        return HTTPRequest(method: method, scheme: "http", authority: authority, path: head.uri, headerFields: fields)
    }

    private static func isHost(_ name: String) -> Bool {
        var utf8 = name.utf8.makeIterator()
        for expected in "host".utf8 {
            guard let byte = utf8.next(), byte | 0x20 == expected else { return false }
        }
        return utf8.next() == nil
    }
}
