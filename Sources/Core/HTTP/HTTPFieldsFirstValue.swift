import HTTPTypes

extension HTTPFields {
    /// The first value of `name`. The subscript joins every value of the name into a new string through a lazy
    /// sequence, which cost ~0.5 % of a proxied request per header read; headers that occur once (lengths,
    /// credentials, ids) need only the first.
    public func firstValue(_ name: HTTPField.Name) -> String? {
        for field in self where field.name == name { return field.value }
        return nil
    }
}
