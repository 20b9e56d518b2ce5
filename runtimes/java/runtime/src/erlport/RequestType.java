package erlport;

/** What a frame from the broker asks for. */
enum RequestType {
    /** {@code {'C', Id, Module, Function, Args}}: call a method and reply. */
    CALL,
    /** Any other term, e.g. {@code {'M', Term}}: nothing to do, no reply. */
    MESSAGE
}
