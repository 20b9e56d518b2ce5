package com.erlport;

/**
 * The main class erlport 1.2.x (EMQX 4.2) starts: the same runtime as {@link erlport.CLI}. Only the
 * entry point is provided; handler code must use the {@code erlport.terms} classes of erlport 1.1.1.
 */
public class Main {
    /** Runs {@link erlport.CLI#main}. */
    public static void main(String[] args) {
        erlport.CLI.main(args);
    }
}
