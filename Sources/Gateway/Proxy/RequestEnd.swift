import Adapters
import Core

/// What ending a request needs once its answer is under way (the usage line, the session context, the settlement)
/// and nothing more. A stream can last minutes; holding the client's body, the upstream body or the decoded
/// request until it ends kept every prompt alive with it (1,000 open streams with 48 KB prompts: ~47 MB).
struct RequestEnd: Sendable {
    struct SessionTurn: Sendable {
        let session: String
        /// The client's latest message, already cut to the context's size.
        let input: String
    }

    let ticket: RequestMetering.Ticket
    let candidate: Candidate
    let requestId: String
    let identity: APIKeyIdentity
    let format: IngressFormat
    /// The model the client asked for.
    let model: String
    /// Set when the request carries `X-Session-Id` and session context is on.
    let turn: SessionTurn?
}

extension ProxyEngine {
    func end(_ call: PreparedCall, inbound: Inbound, model: String, request: ChatRequest?, ticket: RequestMetering.Ticket) -> RequestEnd {
        var turn: RequestEnd.SessionTurn?
        if let session = inbound.sessionId, context.isEnabled {
            let input = request?.messages.last { $0.role == .user }?.text ?? ""
            turn = .init(session: session, input: context.snippet(input))
        }
        return RequestEnd(
            ticket: ticket, candidate: call.candidate, requestId: inbound.requestId, identity: inbound.identity, format: inbound.format,
            model: model, turn: turn
        )
    }
}
