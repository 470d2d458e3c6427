import Core

/// The fixed catalogue of permissions. Every management endpoint requires one of these (or is explicitly open to
/// any signed-in user, or to system administrators only).
public enum Permission: String, Sendable, CaseIterable, Comparable {
    case orgView = "org.view"
    case orgManage = "org.manage"
    case membersView = "members.view"
    case membersManage = "members.manage"
    case rolesManage = "roles.manage"
    case keysView = "keys.view"
    case keysManage = "keys.manage"
    case keysUse = "keys.use"
    case providersView = "providers.view"
    case providersManage = "providers.manage"
    case routingView = "routing.view"
    case routingManage = "routing.manage"
    case billingView = "billing.view"
    case billingManage = "billing.manage"
    case mcpView = "mcp.view"
    case mcpManage = "mcp.manage"
    case mcpUse = "mcp.use"
    case auditView = "audit.view"

    public var summary: String {
        switch self {
        case .orgView: "See the organisation's settings"
        case .orgManage: "Change the organisation's name and settings"
        case .membersView: "List members, invitations and roles"
        case .membersManage: "Invite, add, remove members and change their roles"
        case .rolesManage: "Create, change and delete custom roles"
        case .keysView: "List API keys (never their secrets)"
        case .keysManage: "Create, rotate and revoke API keys"
        case .keysUse: "Call the gateway with the organisation's API keys"
        case .providersView: "See providers, their health and metrics"
        case .providersManage: "Add and change private providers and share them"
        case .routingView: "See logical models, routing decisions and sessions"
        case .routingManage: "Create and change logical models and routing"
        case .billingView: "See balance, ledger and usage reports"
        case .billingManage: "Top up, redeem codes, set budgets and auto top-up"
        case .mcpView: "See registered MCP servers and tools"
        case .mcpManage: "Register MCP servers and set tool access"
        case .mcpUse: "Call MCP tools through the hub"
        case .auditView: "Read the audit log"
        }
    }

    public static func < (a: Permission, b: Permission) -> Bool { a.rawValue < b.rawValue }

    /// What an API key may do on the management routes it is admitted to: read routing and providers, and forget
    /// its organisation's sticky sessions. Nothing that changes members, keys, money or configuration.
    public static let heldByAPIKeys: Set<Permission> = [.routingView, .routingManage, .providersView]

    /// Parses a list of permission names, naming the first unknown one.
    public static func parseList(_ names: [String], field: String) throws(APIError) -> Set<Permission> {
        var out = Set<Permission>()
        for name in names {
            guard let permission = Permission(rawValue: name) else {
                throw .badRequest("'\(name)' is not a permission; GET /permissions lists them", param: field, code: "unknown_permission")
            }
            out.insert(permission)
        }
        return out
    }
}

/// Roles every organisation has. Custom roles (per organisation) may not reuse these names.
public enum BuiltInRole: String, Sendable, CaseIterable {
    case owner, admin, developer, billing, viewer

    public var permissions: Set<Permission> {
        switch self {
        case .owner, .admin: Set(Permission.allCases)
        case .developer:
            [.orgView, .membersView, .keysView, .keysManage, .keysUse, .providersView, .routingView, .billingView, .mcpView, .mcpUse]
        case .billing: [.orgView, .membersView, .billingView, .billingManage, .auditView]
        case .viewer: [.orgView, .membersView, .keysView, .providersView, .routingView, .billingView, .mcpView]
        }
    }

    public var summary: String {
        switch self {
        case .owner: "Everything, including managing owners; an organisation always keeps at least one"
        case .admin: "Everything except granting or removing the owner role"
        case .developer: "Create and use API keys, see providers, routing, MCP and spending"
        case .billing: "Manage credits, payments and budgets"
        case .viewer: "Read-only access"
        }
    }
}
