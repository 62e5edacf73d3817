package com.acme.payments;

/** payments: charges cards for placed orders. */
public final class App {
    public static void main(String[] args) {
        System.out.println("payments up");
    }
}
