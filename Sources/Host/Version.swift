public enum PeerwallVersion {
    public static let current = "0.1.0"
}
